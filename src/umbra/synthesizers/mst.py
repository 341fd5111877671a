"""MST (McKenna, Miklau & Sheldon 2021): a differentially private tree of 2-way marginals.

The budget, converted to zero-concentrated DP, is split in three: Gaussian-noised counts of
every column's one-way marginal; a maximum spanning tree over the columns chosen with the
exponential mechanism (scores: how far each pair's counts are from independence); noisy counts
of the tree's 2-way marginals. ``mbi`` (private-pgm) estimates the graphical model consistent
with all the noisy counts; sampling is exact from that model (the root from its marginal, each
column from its conditional given its parent), not ``mbi``'s approximate ``synthetic_data``.

The domain (bounds of numbers, cut into ``n_bins`` bins; categories; whether a column has
nulls) is either declared public in the metadata, costing nothing, or learned under DP with
``preprocessing_share`` of the budget (:mod:`umbra.privacy.domain`); dates need declared bounds.

Example:
    >>> import pandas as pd, umbra
    >>> rng = np.random.default_rng(0)
    >>> a = rng.choice(["x", "y"], 3000)
    >>> df = pd.DataFrame({"a": a, "b": np.where(a == "x", "p", "q"), "n": rng.uniform(0, 9, 3000)})
    >>> meta = umbra.Metadata.detect(df, warn=False).update("a", categories=["x", "y"])
    >>> meta = meta.update("b", categories=["p", "q"]).update("n", bounds=(0, 9))
    >>> mst = MST(epsilon=1.0, delta=1e-7, random_state=0).fit(df, metadata=meta)
    >>> fake = mst.sample(1000)
    >>> float(((fake["a"] == "x") == (fake["b"] == "p")).mean()) > 0.95
    True
    >>> round(mst.privacy_spent_["epsilon"], 6)
    1.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from umbra._random import RandomState
from umbra.exceptions import InputError
from umbra.metadata.spec import Metadata
from umbra.privacy import pgm
from umbra.privacy.accounting import check_budget, exponential_epsilon, gaussian_sigma, rho_for
from umbra.privacy.domain import conform, discover, needs_discovery
from umbra.privacy.marginals import marginal, noisy, sample_tree, select_tree, tree_order
from umbra.synthesizers.base import Synthesizer
from umbra.synthesizers.registry import register
from umbra.transforms.base import Block

SHARES = (1 / 3, 1 / 3, 1 / 3)  # one-way counts, tree selection, two-way counts


@register
class MST(Synthesizer):
    """Differentially private synthesis from a tree of noisy 2-way marginals.

    Args:
        epsilon: the privacy budget (``None``: exact counts, no differential privacy).
        delta: the DP delta; below 1/n.
        n_bins: bins per number or date on its declared bounds (whole numbers with at most this
            many values get one bin each; otherwise the bounds are bins of their own).
        iterations: the most mirror-descent steps of ``mbi``'s estimation.
        preprocessing_share: the part of the budget spent learning undeclared bounds,
            categories and null presence (nothing when the whole domain is declared).
        random_state: seed for the noise and for sampling (the noise is not cryptographically
            secure; a secure generator is on the roadmap).
    """

    name = "mst"
    numeric_encoding = "bins"

    def __init__(
        self,
        *,
        epsilon: float | None = 1.0,
        delta: float = 1e-9,
        n_bins: int = 32,
        iterations: int = 1000,
        preprocessing_share: float = 0.3,
        random_state: RandomState = None,
    ) -> None:
        super().__init__(random_state=random_state)
        self.epsilon = epsilon
        self.delta = delta
        self.n_bins = n_bins
        self.iterations = iterations
        self.preprocessing_share = preprocessing_share

    def _check_params(self) -> None:
        check_budget(self.epsilon, self.delta)
        share = self.preprocessing_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
            raise InputError(
                f"preprocessing_share must be a number strictly between 0 and 1, received {share!r}"
            )
        for name in ("n_bins", "iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, received {value!r}")

    def _check_metadata(self, meta: Metadata, n_rows: int) -> None:
        check_budget(self.epsilon, self.delta, n_rows)
        self._discover = [] if self.epsilon is None else needs_discovery(meta)
        if self.epsilon is None:
            return
        # thresholds for unknown categories cost delta; the rest is zCDP converted once
        categorical = any(meta[_name(meta, c)].kind == "categorical" for c in self._discover)
        extra = self.delta / 2 if categorical else 0.0
        rho = rho_for(self.epsilon, self.delta - extra)
        pre = self.preprocessing_share * rho if self._discover else 0.0
        self._plan = {"rho": rho, "preprocessing_rho": pre, "delta_extra": extra}

    def _privacy_plan(self) -> dict[str, float]:
        return self._plan

    def _prepare(
        self, data: pd.DataFrame, meta: Metadata, rng: np.random.Generator
    ) -> pd.DataFrame:
        if self.epsilon is None:
            return data
        if self._discover:
            budget = (self._plan["preprocessing_rho"], self._plan["delta_extra"])
            data = discover(data, meta, self._discover, budget, rng)
        return conform(data, meta, rng)

    def _encoding(self) -> dict[str, Any]:
        return {"numeric": "bins", "n_bins": self.n_bins, "public": self.epsilon is not None}

    def _fit(self, encoded: np.ndarray, blocks: list[Block], rng: np.random.Generator) -> None:
        if any(b.kind != "discrete" for b in blocks):
            raise InputError("mst works on discrete blocks only; this encoding has others")
        sizes = tuple(int(b.size) for b in blocks)
        codes = encoded.astype(np.int64)
        d = len(sizes)
        self.order_: list[tuple[int, int]] = []
        self.tables_: list[np.ndarray] = []
        if d == 0:
            return
        rho = None if self.epsilon is None else self._plan["rho"] - self._plan["preprocessing_rho"]
        sigma1 = 0.0 if rho is None else gaussian_sigma(SHARES[0] * rho / d)
        one_way = [noisy(marginal(codes, (j,), sizes), sigma1, rng) for j in range(d)]
        per_edge = None if rho is None else SHARES[1] * rho / max(d - 1, 1)
        epsilon_edge = None if per_edge is None else exponential_epsilon(per_edge)
        edges = select_tree(codes, sizes, epsilon_edge, rng, one_way)
        sigma2 = 0.0 if rho is None else gaussian_sigma(SHARES[2] * rho / max(d - 1, 1))
        two_way = [noisy(marginal(codes, e, sizes), sigma2, rng) for e in edges]
        self.order_ = tree_order(d, edges)
        if rho is None:  # exact counts: the tree's own marginals are the model (Chow-Liu)
            exact = {e: m for e, m in zip(edges, two_way, strict=True)}
            self.tables_ = [_exact_table(one_way, exact, c, p) for c, p in self.order_]
        else:
            measured: list[pgm.Measurement] = [((j,), m, sigma1) for j, m in enumerate(one_way)]
            measured += [(e, m, sigma2) for e, m in zip(edges, two_way, strict=True)]
            try:
                model = pgm.estimate(sizes, measured, self.iterations)
                self.tables_ = [_table(model, column, parent) for column, parent in self.order_]
            finally:
                pgm.release()
        plan = getattr(self, "_plan", {}) if self.epsilon is not None else {}
        self.privacy_spent_ = {
            "mechanism": "mst (Gaussian counts, exponential-mechanism tree)",
            "epsilon": self.epsilon,
            "delta": None if self.epsilon is None else self.delta,
            "rho": plan.get("rho"),
            "preprocessing_rho": plan.get("preprocessing_rho"),
            "preprocessing_delta": plan.get("delta_extra"),
            "learned_under_dp": list(getattr(self, "_discover", [])),
            "accountant": "zCDP (Canonne, Kamath & Steinke 2020 conversion)",
        }

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if not self.order_:
            return np.zeros((n, 0))
        return sample_tree(n, self.order_, self.tables_, rng).astype(float)

    def _get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"order": [list(p) for p in self.order_]}
        state.update({f"table{k}": t for k, t in enumerate(self.tables_)})
        state["privacy"] = getattr(self, "privacy_spent_", None)
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        self.order_ = [(int(c), int(p)) for c, p in state["order"]]
        self.tables_ = [np.asarray(state[f"table{k}"]) for k in range(len(self.order_))]
        if state.get("privacy") is not None:
            self.privacy_spent_ = state["privacy"]


def _name(meta: Metadata, column: str) -> Any:
    """The metadata's own label for a column named ``column`` (labels may be non-strings)."""
    return next(spec.name for spec in meta if str(spec.name) == column)


def _table(model: Any, column: int, parent: int) -> np.ndarray:
    """P(column) for a root, else P(column | parent) as a (parent, column) array."""
    if parent < 0:
        counts = np.asarray(model.project((f"c{column}",)).datavector(flatten=False))
        return _normalise(counts)
    joint = model.project((f"c{parent}", f"c{column}")).datavector(flatten=False)
    return np.vstack([_normalise(row) for row in np.asarray(joint)])


def _exact_table(
    one_way: list[np.ndarray],
    two_way: dict[tuple[int, int], np.ndarray],
    column: int,
    parent: int,
) -> np.ndarray:
    """Like :func:`_table`, from exact counts."""
    if parent < 0:
        return _normalise(one_way[column])
    joint = (
        two_way[(parent, column)] if (parent, column) in two_way else two_way[(column, parent)].T
    )
    return np.vstack([_normalise(row) for row in joint])


def _normalise(counts: np.ndarray) -> np.ndarray:
    counts = np.clip(np.asarray(counts, dtype=float), 0, None)
    total = counts.sum()
    if not math.isfinite(total) or total <= 0:
        return np.full(len(counts), 1.0 / len(counts))
    return counts / total
