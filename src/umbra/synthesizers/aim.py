"""AIM (McKenna, Mullins, Sheldon & Miklau 2022): adaptive, workload-aware marginal selection.

AIM first measures every column's one-way counts, then, round after round, picks the marginal
the current model gets most wrong (weighted by the workload, less the noise a measurement would
add) with the exponential mechanism, measures it with Gaussian noise and re-estimates the
graphical model (``mbi``) from all measurements. A round's budget doubles when a measurement
no longer moves the model; the last round spends what is left. Candidates whose junction tree
would outgrow ``max_model_size`` (scaled by the share of the budget spent) are skipped, and
after ``max_seconds`` of selection the next round is the last, so fit time is predictable.

The workload is every pair of columns (``degree=2``) or every triple (``degree=3``). The
domain, the privacy plan and the encoding are MST's (:mod:`umbra.synthesizers.mst`); sampling
is exact from the model's junction tree (:mod:`umbra.privacy.pgm`).

Example:
    >>> import pandas as pd, umbra
    >>> rng = np.random.default_rng(0)
    >>> a = rng.choice(["x", "y"], 3000)
    >>> df = pd.DataFrame({"a": a, "b": np.where(a == "x", "p", "q"), "n": rng.uniform(0, 9, 3000)})
    >>> meta = umbra.Metadata.detect(df, warn=False).update("a", categories=["x", "y"])
    >>> meta = meta.update("b", categories=["p", "q"]).update("n", bounds=(0, 9))
    >>> aim = AIM(epsilon=1.0, delta=1e-7, random_state=0, max_seconds=20).fit(df, metadata=meta)
    >>> fake = aim.sample(1000)
    >>> float(((fake["a"] == "x") == (fake["b"] == "p")).mean()) > 0.95
    True
    >>> aim.privacy_spent_["rounds"] > 0
    True
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from umbra._random import RandomState
from umbra.exceptions import InputError
from umbra.privacy import pgm
from umbra.privacy import selection as sel
from umbra.privacy.marginals import marginal, noisy
from umbra.synthesizers.mst import MST
from umbra.synthesizers.registry import register
from umbra.transforms.base import Block

ESTIMATE_SAMPLE = 50_000  # rows drawn from the model to score the candidates


@register
class AIM(MST):
    """Differentially private synthesis from adaptively chosen noisy marginals.

    Args:
        epsilon: the privacy budget (``None``: exact counts, the same rounds without noise).
        delta: the DP delta; below 1/n.
        n_bins: bins per number or date on its declared bounds.
        integer_values: whole numbers whose bounds span at most this many values get a code
            per value (a spike such as 40 working hours then comes back exactly).
        degree: the workload is every set of this many columns (2 or 3).
        max_model_size: megabytes the junction tree may grow to.
        max_seconds: seconds of selection rounds after which the next round is the last (a fit
            that reaches it depends on the machine's speed: not reproducible across machines).
        max_rounds: the most selection rounds (None: 16 per column); unlike ``max_seconds``,
            the same on every machine.
        round_iterations: estimation steps after each round (the last gets ``iterations``).
        iterations: estimation steps of the final model.
        preprocessing_share: the part of the budget spent learning an undeclared domain.
        random_state: seed for the noise, the selection and sampling.
    """

    name = "aim"

    def __init__(
        self,
        *,
        epsilon: float | None = 1.0,
        delta: float = 1e-9,
        n_bins: int = 32,
        integer_values: int = 100,
        degree: int = 2,
        max_model_size: float = 80.0,
        max_seconds: float = 180.0,
        max_rounds: int | None = None,
        round_iterations: int = 100,
        iterations: int = 1000,
        preprocessing_share: float = 0.3,
        random_state: RandomState = None,
    ) -> None:
        super().__init__(
            epsilon=epsilon,
            delta=delta,
            n_bins=n_bins,
            iterations=iterations,
            preprocessing_share=preprocessing_share,
            random_state=random_state,
        )
        self.integer_values = integer_values
        self.degree = degree
        self.max_model_size = max_model_size
        self.max_seconds = max_seconds
        self.max_rounds = max_rounds
        self.round_iterations = round_iterations

    def _check_params(self) -> None:
        super()._check_params()
        if self.degree not in (2, 3):
            raise InputError(f"degree must be 2 or 3, received {self.degree!r}")
        value = self.integer_values
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"integer_values must be a positive integer, received {value!r}")
        for name in ("max_model_size", "max_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise InputError(f"{name} must be a number > 0, received {value!r}")
        for name in ("round_iterations", "max_rounds"):
            value = getattr(self, name)
            if value is None and name == "max_rounds":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, received {value!r}")

    def _encoding(self) -> dict[str, Any]:
        return {**super()._encoding(), "integer_values": self.integer_values}

    def _fit(self, encoded: np.ndarray, blocks: list[Block], rng: np.random.Generator) -> None:
        if any(b.kind != "discrete" for b in blocks):
            raise InputError("aim works on discrete blocks only; this encoding has others")
        sizes = tuple(int(b.size) for b in blocks)
        self.sizes_ = sizes
        self.tables_: list[pgm.CliqueTable] = []  # type: ignore[assignment]
        if not sizes:
            return
        codes = encoded.astype(np.int64)
        weights = sel.candidate_weights(sel.workload(len(sizes), self.degree))
        rho = None if self.epsilon is None else self._plan["rho"] - self._plan["preprocessing_rho"]
        loop = _Rounds(self, codes, sizes, weights, rho, rng)
        try:
            model, rounds = loop.run()
            self.tables_ = pgm.clique_tables(model, sizes)
            if rho is None:  # exact counts: a value no row holds is never drawn
                seen = [np.bincount(codes[:, j], minlength=k) > 0 for j, k in enumerate(sizes)]
                self.tables_ = pgm.without_unseen(self.tables_, seen)
        finally:
            pgm.release()
        self.privacy_spent_ = self._spent(rounds, loop.used)

    def _spent(self, rounds: int, used: float) -> dict[str, Any]:
        plan = getattr(self, "_plan", {}) if self.epsilon is not None else {}
        return {
            "mechanism": "aim (Gaussian counts, exponential-mechanism selection)",
            "epsilon": self.epsilon,
            "delta": None if self.epsilon is None else self.delta,
            "rho": plan.get("rho"),
            "preprocessing_rho": plan.get("preprocessing_rho"),
            "preprocessing_delta": plan.get("delta_extra"),
            "learned_under_dp": list(getattr(self, "_discover", [])),
            "rounds": rounds,
            "rounds_rho": None if self.epsilon is None else used,
            "accountant": "zCDP (Canonne, Kamath & Steinke 2020 conversion)",
        }

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if not self.sizes_:
            return np.zeros((n, 0))
        return pgm.sample(n, self.tables_, self.sizes_, rng).astype(float)

    def _get_state(self) -> dict[str, Any]:
        tables: list[pgm.CliqueTable] = self.tables_
        state: dict[str, Any] = {
            "sizes": list(self.sizes_),
            "cliques": [[list(t.separator), list(t.new)] for t in tables],
            "privacy": getattr(self, "privacy_spent_", None),
        }
        state.update({f"table{k}": t.table for k, t in enumerate(tables)})
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        self.sizes_ = tuple(int(s) for s in state["sizes"])
        self.tables_ = [
            pgm.CliqueTable(tuple(sep), tuple(new), np.asarray(state[f"table{k}"]))
            for k, (sep, new) in enumerate(state["cliques"])
        ]
        if state.get("privacy") is not None:
            self.privacy_spent_ = state["privacy"]


class _Rounds:
    """AIM's select-measure-estimate loop over one encoded table."""

    def __init__(
        self,
        aim: AIM,
        codes: np.ndarray,
        sizes: tuple[int, ...],
        weights: dict[pgm.Clique, float],
        rho: float | None,
        rng: np.random.Generator,
    ) -> None:
        self.aim, self.codes, self.sizes, self.rho, self.rng = aim, codes, sizes, rho, rng
        self.candidates = list(weights)
        self.weights = np.array([weights[c] for c in self.candidates])
        self.cells = np.array([np.prod([sizes[j] for j in c]) for c in self.candidates])
        self.counts = {c: marginal(codes, c, sizes) for c in self.candidates}
        self.planned = aim.max_rounds or sel.ROUNDS_PER_COLUMN * len(sizes)
        self.measurements: list[pgm.Measurement] = []
        self.used = 0.0  # zCDP rho spent by the rounds so far

    def run(self) -> tuple[Any, int]:
        """The final model and the number of selection rounds."""
        d, start = len(self.sizes), time.perf_counter()
        sigma, epsilon = (1.0, None) if self.rho is None else sel.initial_scales(self.rho, d)
        for j in range(d):
            self._measure((j,), sigma)
            self.used += sel.measure_cost(sigma)
        model = pgm.estimate(self.sizes, self.measurements, self.aim.round_iterations)
        rounds, last = 0, False
        while not last:
            late = time.perf_counter() - start > self.aim.max_seconds
            if self.rho is None:
                last = late or rounds + 1 >= self.planned
            else:
                capped = late or (self.aim.max_rounds is not None and rounds + 1 >= self.planned)
                sigma, epsilon, last = sel.next_round(
                    self.rho, self.used, sigma, epsilon or 0.0, capped
                )
                self.used += sel.round_cost(sigma, epsilon)
            share = 1.0 if self.rho is None else min(self.used / self.rho, 1.0)
            clique = self._select(model, sigma, epsilon, share * self.aim.max_model_size)
            if clique is None:
                break
            before = pgm.project(model, clique)
            self._measure(clique, sigma)
            model = pgm.estimate(self.sizes, self.measurements, self.aim.round_iterations, model)
            rounds += 1
            moved = float(np.abs(pgm.project(model, clique) - before).sum())
            if epsilon is not None and not last and moved <= sel.expected_noise(sigma, before.size):
                sigma, epsilon = sigma / 2, epsilon * 2
        model = pgm.estimate(self.sizes, self.measurements, self.aim.iterations, model)
        return model, rounds

    def _measure(self, clique: pgm.Clique, sigma: float) -> None:
        counts = noisy(self.counts[clique], 0.0 if self.rho is None else sigma, self.rng)
        self.measurements.append((clique, counts, sigma))

    def _select(
        self, model: Any, sigma: float, epsilon: float | None, limit: float
    ) -> pgm.Clique | None:
        """The clique chosen with the exponential mechanism among those that fit the size
        limit (``None`` when none fits)."""
        measured = [c for c, _, _ in self.measurements]
        fits = [
            k for k, c in enumerate(self.candidates)
            if pgm.model_size(self.sizes, [*measured, c]) <= limit
        ]  # fmt: skip
        if not fits:
            return None
        errors = self._errors(model, [self.candidates[k] for k in fits])
        values = sel.scores(errors, self.weights[fits], self.cells[fits], sigma)
        if epsilon is None and values.max() <= 0:
            return None  # without noise: the model already explains every candidate
        pick = sel.exponential_choice(values, float(self.weights.max()), epsilon, self.rng)
        return self.candidates[fits[pick]]

    def _errors(self, model: Any, cliques: list[pgm.Clique]) -> np.ndarray:
        """L1 distance of the model's counts from the data's on each clique, the model's read
        off a large exact draw from it (post-processing: no privacy cost)."""
        tables = pgm.clique_tables(model, self.sizes)
        draw = pgm.sample(ESTIMATE_SAMPLE, tables, self.sizes, self.rng)
        scale = float(model.total) / ESTIMATE_SAMPLE
        return np.array([
            np.abs(marginal(draw, c, self.sizes) * scale - self.counts[c]).sum() for c in cliques
        ])  # fmt: skip
