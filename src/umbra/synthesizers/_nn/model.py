"""The base of the neural synthesizers: hyperparameters, the training loop, batched sampling.

A subclass builds its networks (``_build``), trains one epoch (``_train_epoch``) and turns noise
and conditional vectors into network output (``_generate``); this class does the rest: the
validation split for early stopping, batch-size clamping, the monitor, the missing-category
warning, conditional generation and persistence of the weights.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from umbra._random import RandomState
from umbra.exceptions import InputError, TrainingWarning
from umbra.synthesizers._nn.layout import CondSampler, Layout
from umbra.synthesizers._nn.tokens import Tokens
from umbra.synthesizers._nn.torchutil import load_weights, seeded, weights
from umbra.synthesizers._nn.training import (
    CHECK_ROWS,
    Monitor,
    check_training_params,
    fidelity,
    missing_categories,
)
from umbra.synthesizers.base import Synthesizer
from umbra.transforms.base import Block

SAMPLE_BATCH = 8192
MIN_HOLDOUT_ROWS = 500


class NeuralSynthesizer(Synthesizer):
    """Shared machinery; see :class:`~umbra.synthesizers.ctgan.CTGAN` for the parameters."""

    numeric_encoding = "bgm"
    monitored = "validation_loss"
    train_monitored = "loss"
    loss_history_: pd.DataFrame

    def __init__(
        self,
        *,
        epochs: int,
        batch_size: int,
        learning_rate: float,
        early_stopping: str | None,
        patience: int,
        verbose: bool,
        random_state: RandomState,
        rare_threshold: int = 10,
    ) -> None:
        super().__init__(random_state=random_state)
        self.rare_threshold = rare_threshold
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.patience = patience
        self.verbose = verbose

    @abstractmethod
    def _build_generator(self, layout: Layout) -> nn.Module:
        """Create the network that generates rows (the one that is saved)."""

    @abstractmethod
    def _build_training(self, layout: Layout, batch: int) -> dict[str, nn.Module]:
        """Create the networks needed only for training (critic, encoder)."""

    @abstractmethod
    def _train_epoch(
        self, data: torch.Tensor, batch: int, rng: np.random.Generator
    ) -> dict[str, float]:
        """One pass over ``data`` (network representation); return the mean losses."""

    @abstractmethod
    def _generate(self, cond: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Values (continuous units) and logits (discrete units) for ``len(cond)`` rows."""

    def _validation_loss(self, data: torch.Tensor, cond: torch.Tensor) -> dict[str, float]:
        """Losses on held-out rows and their conditional vectors (none by default)."""
        return {}

    def _check_params(self) -> None:
        check_training_params(self.epochs, self.batch_size, self.early_stopping, self.patience)
        value = self.rare_threshold
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(
                f"rare_threshold must be an integer >= 0 (0 switches the rare-value protection "
                f"off), received {value!r}"
            )

    def _train_private(self, rows: torch.Tensor, rng: np.random.Generator) -> None:
        """Train the networks with DP-SGD on ``rows`` (models with an ``epsilon`` option)."""
        raise NotImplementedError(f"{self.name} has no DP-SGD training")

    def _fit_private(
        self, encoded: np.ndarray, blocks: list[Block], rng: np.random.Generator
    ) -> None:
        """Every token kept and no conditional vector (its frequencies would read the data)."""
        self.tokens_ = Tokens.identity(blocks)
        self.layout_ = Layout(self.tokens_.blocks, conditional=False)
        self.cond_ = CondSampler(self.layout_, {})
        rows = torch.from_numpy(self.layout_.to_matrix(self.tokens_.encode(encoded)))
        with seeded(rng):
            self.nets_ = {"generator": self._build_generator(self.layout_)}
            self.nets_.update(self._build_training(self.layout_, 0))
            self._train_private(rows, rng)
        self.nets_ = {"generator": self.nets_["generator"]}
        self._missing: list[tuple[int, int]] = []

    def _fit(self, encoded: np.ndarray, blocks: list[Block], rng: np.random.Generator) -> None:
        if getattr(self, "epsilon", None) is not None:
            self._fit_private(encoded, blocks, rng)
            return
        self.tokens_ = Tokens.fit(encoded, blocks, int(self.rare_threshold))
        encoded, blocks = self.tokens_.encode(encoded), self.tokens_.blocks
        self.layout_ = Layout(blocks)
        train, valid = self._split(len(encoded), rng)
        self.cond_ = CondSampler.from_training(encoded[train], blocks, self.layout_)
        data = torch.from_numpy(self.layout_.to_matrix(encoded[train]))
        held = torch.from_numpy(self.layout_.to_matrix(encoded[valid]))
        held_sampler = CondSampler.from_training(encoded[valid], blocks, self.layout_)
        held_cond = torch.from_numpy(held_sampler.from_rows(np.arange(len(valid)), rng))
        batch = clamp_batch(self.batch_size, len(train), getattr(self, "pac", 1))
        reference = encoded[valid] if len(valid) else encoded[train][:CHECK_ROWS]

        def score() -> float:
            return fidelity(reference, self._draw(len(reference), rng), self.layout_)

        with seeded(rng):
            self.nets_ = {"generator": self._build_generator(self.layout_)}
            self.nets_.update(self._build_training(self.layout_, batch))
            self.optimizers_ = self._optimizers()
            with self._monitor(has_validation=len(valid) > 0) as monitor:
                for epoch in range(1, self.epochs + 1):
                    losses = self._train_epoch(data, batch, rng)
                    losses.update(self._validation_loss(held, held_cond) if len(valid) else {})
                    healthy = self._finite()
                    if monitor.end_epoch(epoch, losses, score, self._snapshot, healthy):
                        break
            self.loss_history_ = monitor.finish(self._restore)
            self.best_epoch_ = monitor.best_epoch
            self.nets_ = {"generator": self.nets_["generator"]}
            self._missing = missing_categories(
                reference, self._draw(len(reference), rng), self.layout_
            )
        del self.optimizers_

    def _monitor(self, has_validation: bool) -> Monitor:
        return Monitor(
            epochs=self.epochs,
            early_stopping=self.early_stopping,
            patience=self.patience,
            monitored=self.monitored if has_validation else self.train_monitored,
            verbose=self.verbose,
            label=self.name,
        )

    def _after_fit(self) -> None:
        """Warn about frequent real categories the trained model never generates."""
        missing, self._missing = self._missing, []
        if not missing:
            return
        names = [self._describe(block, code) for block, code in missing]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        warnings.warn(
            f"{self.name} does not generate {shown}, though each is at least 0.5% of the real "
            "rows. Train for more epochs, or sample with conditions to get them.",
            TrainingWarning,
            stacklevel=3,
        )

    def _describe(self, block: int, token: int) -> str:
        """Name a (block, token) pair as column and category."""
        code = self.tokens_.code(block, token)
        start = 0
        for encoder in self.transformer_.encoders_:
            count = len(encoder.blocks())
            if start <= block < start + count:
                name = (
                    "its rare values" if code is None else block_label(encoder, block - start, code)
                )
                return f"{encoder.spec.name!r} = {name}"
            start += count
        return f"token {token} of block {block}"

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            name: torch.optim.Adam(
                net.parameters(),
                lr=self.learning_rate,
                betas=(0.5, 0.9),
                weight_decay=1e-6,
                foreach=True,
            )
            for name, net in self.nets_.items()
        }

    def _split(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        order = rng.permutation(n)
        if self.early_stopping is None or n < MIN_HOLDOUT_ROWS:
            return order, order[:0]
        size = min(CHECK_ROWS, n // 10)
        return order[size:], order[:size]

    def _unseen(self) -> np.ndarray:
        """Output units of tokens that no training row has (never generated)."""
        units = [
            self.layout_.spans[j].start + k
            for i, j in enumerate(self.tokens_.discrete)
            for k in np.flatnonzero(~self.tokens_.vocab.seen[i])
        ]
        return np.asarray(units, dtype=np.int64)

    def _finite(self) -> bool:
        """Whether every weight is still a finite number."""
        return all(
            bool(torch.isfinite(p).all()) for net in self.nets_.values() for p in net.parameters()
        )

    def _snapshot(self) -> dict[str, Any]:
        return {name: net.state_dict() for name, net in self.nets_.items()}

    def _restore(self, state: dict[str, Any]) -> None:
        for name, net in self.nets_.items():
            net.load_state_dict(state[name])

    def _draw(
        self, n: int, rng: np.random.Generator, fixed: tuple[int, int] | None = None
    ) -> np.ndarray:
        generator = self.nets_["generator"]
        was_training = generator.training
        generator.eval()
        parts = []
        with torch.inference_mode():
            for start in range(0, n, SAMPLE_BATCH):
                size = min(SAMPLE_BATCH, n - start)
                cond = torch.from_numpy(self.cond_.sampling(size, rng, fixed))
                values, logits = self._generate(cond)
                logits[:, self._unseen()] = -np.inf  # never a category absent from training
                parts.append(self.layout_.draw(values, logits, rng))
        generator.train(was_training)
        return np.vstack(parts) if parts else np.empty((0, len(self.layout_.spans)))

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        with seeded(rng):
            return self.tokens_.decode(self._draw(n, rng), rng)

    def _sample_fixed(self, n: int, rng: np.random.Generator, fixed: dict[int, int]) -> np.ndarray:
        """Generate with the conditional vector set to the rarest of the ``fixed`` categories.

        A fixed rare code is generated as the shared rare token; rows that got that token take
        the fixed code (the uniform draw among the rare codes, conditioned on the fixed one).
        """
        tokens = {j: self.tokens_.token(j, k) for j, k in fixed.items()}
        usable = [(j, t) for j, t in tokens.items() if j in self.cond_.counts]
        with seeded(rng):
            if usable:
                rarest = min(usable, key=lambda jt: int(self.cond_.counts[jt[0]][jt[1]]))
                drawn = self._draw(n, rng, rarest)
            else:
                drawn = self._draw(n, rng)
            out = self.tokens_.decode(drawn, rng)
        for j, token in tokens.items():
            out[drawn[:, j] == token, j] = fixed[j]
        return out

    def _get_state(self) -> dict[str, Any]:
        return {
            "generator": weights(self.nets_["generator"]),
            "counts": {str(j): c for j, c in self.cond_.counts.items()},
            "loss_history": {k: v.to_numpy() for k, v in self.loss_history_.items()},
            "best_epoch": self.best_epoch_,
            "vocab": self.tokens_.state(),
            "conditional": self.layout_.conditional,
            "privacy": getattr(self, "privacy_spent_", None),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.tokens_ = Tokens.from_state(state["vocab"], self.transformer_.blocks)
        self.layout_ = Layout(self.tokens_.blocks, bool(state.get("conditional", True)))
        counts = {int(j): np.asarray(c) for j, c in state["counts"].items()}
        self.cond_ = CondSampler(self.layout_, counts)
        with seeded(np.random.default_rng(0)):
            self.nets_ = {"generator": self._build_generator(self.layout_)}
        load_weights(self.nets_["generator"], state["generator"])
        self.loss_history_ = pd.DataFrame(
            {k: np.asarray(v) for k, v in state["loss_history"].items()}
        )
        self.best_epoch_ = int(state["best_epoch"])
        if state.get("privacy") is not None:
            self.privacy_spent_ = state["privacy"]


def block_label(encoder: Any, index: int, code: int) -> str:
    """A readable value for ``code`` of the encoder's ``index``-th block."""
    kind = encoder.blocks()[index].name.rsplit(".", 1)[-1]
    if kind == "code":
        categories = list(getattr(encoder, "categories", [False, True]))
        return repr(categories[code]) if code < len(categories) else "missing"
    if kind == "status":
        from umbra.transforms.numeric import STATUSES

        return STATUSES[encoder.statuses[code]]
    if kind == "bin":
        low, high = encoder.edges[code], encoder.edges[code + 1]
        return (
            f"{low + 0.5:g}" if encoder.spec.integer and high - low == 1 else f"[{low:g}, {high:g})"
        )
    return f"{kind} {code}"


def clamp_batch(batch_size: int, n_rows: int, pac: int = 1) -> int:
    """A batch no larger than the table, a multiple of ``pac``, so that every epoch trains.

    Example:
        >>> clamp_batch(500, 37, pac=10), clamp_batch(500, 100_000, pac=10), clamp_batch(500, 3, 10)
        (30, 500, 3)
    """
    batch = min(batch_size, n_rows)
    if batch >= pac:
        return batch - batch % pac
    return max(batch, 1)
