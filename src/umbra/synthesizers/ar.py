"""The default model: autoregressive over columns, trained over random column orders.

Each column becomes tokens (numbers: frequent exact values plus quantile bins, decoded by a
uniform draw inside the bin; categories: their codes, those seen in fewer than
``rare_threshold`` rows merged into one shared token). A small network predicts each column from
the columns before it (see :mod:`umbra.synthesizers._nn.argn`). Part of every batch is trained in
a random column order per row, so the model learns to continue from *any* subset of known
columns: rare conditions are placed first and the other columns generated after them (common
ones are met by rejection from the model's joint distribution, which is exact).

Example:
    >>> import pandas as pd, umbra
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=800)
    >>> df = pd.DataFrame({"x": x, "c": np.where(x > 0, "hi", "lo")})
    >>> meta = umbra.Metadata.detect(df, warn=False)
    >>> meta.update("x", bounds=(-5, 5)).update("c", categories=["hi", "lo"])
    Metadata('x': numerical, 'c': categorical)
    >>> model = AutoRegressive(epochs=30, random_state=0).fit(df, metadata=meta)
    >>> fake = model.sample(1000)
    >>> bool(((fake["x"] > 0) == (fake["c"] == "hi")).mean() > 0.9)
    True
    >>> model.sample(5, conditions={"c": "lo"})["c"].tolist()
    ['lo', 'lo', 'lo', 'lo', 'lo']
"""

from __future__ import annotations

import copy
import inspect
import numbers
from typing import Any

import numpy as np
import pandas as pd
import torch

from umbra._random import RandomState
from umbra.exceptions import InputError
from umbra.synthesizers._nn.argn import ARNet, Vocab, order_mask
from umbra.synthesizers._nn.dpsgd import check_private_params, train_private
from umbra.synthesizers._nn.torchutil import load_weights, seeded, weights
from umbra.synthesizers._nn.training import CHECK_ROWS, Monitor, check_training_params
from umbra.synthesizers._private import DPSGDHooks
from umbra.synthesizers.registry import register
from umbra.transforms.base import Block

SAMPLE_BATCH = 8192
MIN_VALIDATION_ROWS = 200
EMA_MAX = 0.998
REJECTION_MIN = 0.02  # conditions at least this likely are met by rejection


@register
class AutoRegressive(DPSGDHooks):
    """Column-by-column generation by one small network; any subset can be conditioned on.

    Args:
        epochs: the most passes over the data (early stopping usually ends sooner).
        batch_size: rows per step (clamped to the table).
        hidden: width of the embeddings and layers.
        layers: hidden layers per column.
        dropout: dropout in training (regularises against memorising rows).
        learning_rate: Adam's initial step size; halved when the validation loss stalls.
        n_bins: quantile bins per number (besides its frequent exact values).
        rare_threshold: categories (and other codes) seen in fewer rows share one token, so no
            rare value's rows can be learned; 0 or 1 switches the protection off.
        flexible: share of rows trained in a random column order (the others in the table's
            order, which sampling uses); 0 gives the best unconditional quality, but
            conditions then rely more on rejection.
        early_stopping: ``"loss"`` (validation loss, 10% of rows held out) or ``None``.
        patience: epochs without improvement before stopping.
        epsilon: train with DP-SGD to (epsilon, delta)-differential privacy (None: no DP).
            Then the domain is declared or learned under DP (``preprocessing_share``), numbers
            use a uniform grid of ``n_bins`` on their bounds, every token is kept, and training
            runs all ``epochs`` (no early stopping: the validation loss would read the data).
        delta: the DP delta (below 1/n).
        max_grad_norm: DP-SGD's clipping bound on each row's gradient.
        preprocessing_share: the part of epsilon spent learning an undeclared domain.
        secure_noise: draw DP-SGD's noise from the operating system's cryptographic
            generator, and the Poisson samples too (slower; not reproducible by ``random_state``).
        verbose: show a progress bar with the losses.
        random_state: seed for training and sampling.
    """

    name = "ar"
    numeric_encoding = "quantile"
    loss_history_: pd.DataFrame

    def __init__(
        self,
        *,
        epochs: int = 100,
        batch_size: int = 512,
        hidden: int = 80,
        layers: int = 1,
        dropout: float = 0.1,
        learning_rate: float = 2e-3,
        n_bins: int = 64,
        rare_threshold: int = 10,
        flexible: float = 0.5,
        early_stopping: str | None = "loss",
        patience: int = 8,
        epsilon: float | None = None,
        delta: float = 1e-9,
        max_grad_norm: float = 1.0,
        preprocessing_share: float = 0.3,
        secure_noise: bool = False,
        verbose: bool = False,
        random_state: RandomState = None,
    ) -> None:
        super().__init__(random_state=random_state)
        self.epochs, self.batch_size, self.hidden, self.layers = epochs, batch_size, hidden, layers
        self.dropout, self.learning_rate, self.n_bins = dropout, learning_rate, n_bins
        self.rare_threshold, self.flexible = rare_threshold, flexible
        self.early_stopping, self.patience, self.verbose = early_stopping, patience, verbose
        self.epsilon, self.delta, self.max_grad_norm = epsilon, delta, max_grad_norm
        self.preprocessing_share, self.secure_noise = preprocessing_share, secure_noise

    def _encoding(self) -> dict[str, Any]:
        encoding = super()._encoding()
        return encoding if self.epsilon is not None else {**encoding, "n_bins": self.n_bins}

    def _check_params(self) -> None:
        check_training_params(self.epochs, self.batch_size, self.early_stopping, self.patience)
        if self.early_stopping == "fidelity":
            raise InputError("early_stopping for 'ar' must be 'loss' or None, received 'fidelity'")
        for name, low in (("hidden", 1), ("layers", 1), ("n_bins", 1), ("rare_threshold", 0)):
            value = getattr(self, name)
            integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
            if not integral or value < low:
                raise InputError(
                    f"{name} must be an integer >= {low}, received {value!r} "
                    f"(the default is {self._default(name)})"
                )
        check_private_params(self)
        for name, span, top in (
            ("dropout", "[0, 0.9]", 0.9),
            ("flexible", "[0, 1]", 1.0),
            ("learning_rate", "(0, 1]", 1.0),
        ):
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not 0 <= value <= top or (name == "learning_rate" and value == 0):
                raise InputError(
                    f"{name} must be a number in {span}, received {value!r} "
                    f"(the default is {self._default(name)})"
                )

    def _private_inputs(
        self, rows: torch.Tensor, rng: np.random.Generator
    ) -> tuple[torch.Tensor, ...]:
        """A DP-SGD batch's inputs of the network: the tokens and a random order's mask."""
        return rows, order_mask(self._ranks(len(rows), rng))

    @classmethod
    def _default(cls, name: str) -> Any:
        return inspect.signature(cls.__init__).parameters[name].default

    def _fit(self, encoded: np.ndarray, blocks: list[Block], rng: np.random.Generator) -> None:
        continuous = [b.name for b in blocks if b.kind != "discrete"]
        if continuous:  # cannot happen with quantile encoding; guards a future encoder
            raise InputError(f"the 'ar' model needs discrete blocks, received {continuous}")
        codes = encoded.astype(np.int64)
        self.order_ = fixed_order(blocks)
        sizes = [b.size for b in blocks]
        if self.epsilon is not None:  # every token, whatever the counts
            self.vocab_ = Vocab.identity(sizes)
            with seeded(rng):
                self.net_ = self._build()
                rows = torch.from_numpy(self.vocab_.encode(codes))
                train_private(self, self.net_, rows, self._private_inputs, rng)
            return
        self.vocab_ = Vocab.fit(codes, sizes, int(self.rare_threshold))
        tokens = torch.from_numpy(self.vocab_.encode(codes))
        order = rng.permutation(len(tokens))
        size = 0
        if self.early_stopping and len(tokens) >= MIN_VALIDATION_ROWS:
            size = min(CHECK_ROWS, len(tokens) // 10)
        train, valid = tokens[order[size:]], tokens[order[:size]]
        with seeded(rng):
            self.net_ = self._build()
            if blocks:
                self._train(train, valid, rng)
            else:  # only regenerated columns (identifiers, personal data): nothing to learn
                self.loss_history_ = pd.DataFrame({"epoch": [], "loss": [], "seconds": []})
                self.best_epoch_ = 0
        self.net_.eval()

    def _build(self) -> ARNet:
        return ARNet(self.vocab_.sizes, int(self.hidden), int(self.layers), float(self.dropout))

    def _ranks(self, n: int, rng: np.random.Generator) -> torch.Tensor:
        """Per row, each column's position: the fixed order, or a random one for some rows."""
        columns = len(self.order_)
        fixed = np.empty(columns, dtype=np.int64)
        fixed[self.order_] = np.arange(columns)
        ranks = np.tile(fixed, (n, 1))
        shuffled = rng.random(n) < self.flexible
        ranks[shuffled] = np.argsort(rng.random((int(shuffled.sum()), columns)), axis=1)
        return torch.from_numpy(ranks)

    def _train(self, train: torch.Tensor, valid: torch.Tensor, rng: np.random.Generator) -> None:
        """Adam on the summed cross-entropy; an exponential average of the weights (over about
        two epochs) is what is validated and kept, which removes the step noise."""
        net, average = self.net_, copy.deepcopy(self.net_)
        optimizer = torch.optim.Adam(net.parameters(), lr=float(self.learning_rate))
        schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
        batch = max(1, min(int(self.batch_size), len(train)))
        decay = min(EMA_MAX, 1.0 - 1.0 / (2 * max(1, len(train) // batch)))
        has_valid = len(valid) > 0
        monitor = Monitor(
            epochs=int(self.epochs),
            early_stopping=self.early_stopping if has_valid else None,
            patience=int(self.patience),
            monitored="validation_loss",
            verbose=bool(self.verbose),
            label=self.name,
        )
        with monitor:
            for epoch in range(1, int(self.epochs) + 1):
                loss = self._epoch(train, batch, optimizer, (average, decay), rng)
                losses = {"loss": loss}
                if has_valid:
                    losses["validation_loss"] = self._validation(average, valid)
                    schedule.step(losses["validation_loss"])
                healthy = all(bool(torch.isfinite(p).all()) for p in net.parameters())
                snapshot = lambda: copy.deepcopy(average.state_dict())  # noqa: E731
                if monitor.end_epoch(epoch, losses, None, snapshot, healthy):
                    break
        self.loss_history_ = monitor.finish(average.load_state_dict)
        self.best_epoch_ = monitor.best_epoch
        self.net_ = average

    def _epoch(
        self,
        train: torch.Tensor,
        batch: int,
        optimizer: torch.optim.Optimizer,
        average: tuple[ARNet, float],
        rng: np.random.Generator,
    ) -> float:
        self.net_.train()
        params: list[torch.Tensor] = list(self.net_.parameters())
        averaged: list[torch.Tensor] = list(average[0].parameters())
        decay = average[1]
        order = torch.from_numpy(rng.permutation(len(train)))
        total, steps = 0.0, 0
        for start in range(0, len(train) - batch + 1, batch):
            rows = train[order[start : start + batch]]
            loss = self.net_.loss(rows, order_mask(self._ranks(len(rows), rng)))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                torch._foreach_lerp_(averaged, params, 1.0 - decay)
            total, steps = total + float(loss.item()), steps + 1
        return total / max(steps, 1)

    def _validation(self, net: ARNet, valid: torch.Tensor) -> float:
        """Loss of held-out rows in the fixed order (the one sampling uses)."""
        net.eval()
        fixed = np.empty(len(self.order_), dtype=np.int64)
        fixed[self.order_] = np.arange(len(self.order_))
        with torch.inference_mode():
            mask = order_mask(torch.from_numpy(np.tile(fixed, (len(valid), 1))))
            return float(net.loss(valid, mask).item())

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._draw(n, rng, {})

    def _sample_fixed(self, n: int, rng: np.random.Generator, fixed: dict[int, int]) -> np.ndarray:
        """Rows for conditions on discrete blocks (``fixed``: block -> code).

        A common combination is met by rejection from the model's own joint distribution (the
        caller keeps the matching rows), which is exact; a rare one (below ``REJECTION_MIN`` by
        the model's marginals) is generated with the fixed codes known first and every other
        column after them, as the random-order training allows.
        """
        if self._marginal_share(fixed) >= REJECTION_MIN:
            return self._draw(n, rng, {})
        return self._draw(n, rng, fixed)

    def _marginal_share(self, fixed: dict[int, int]) -> float:
        """The model's probability of the fixed tokens, each given no other column, multiplied."""
        share = 1.0
        with torch.inference_mode():
            for block, code in fixed.items():
                token = int(self.vocab_.token_of(block)[code])
                logits = self.net_.logits(torch.zeros(1, self.net_.embed.embedding_dim), block)
                share *= float(torch.softmax(logits, dim=1)[0, token])
        return share

    def _draw(self, n: int, rng: np.random.Generator, fixed: dict[int, int]) -> np.ndarray:
        parts = [
            self._draw_batch(min(SAMPLE_BATCH, n - start), rng, fixed)
            for start in range(0, n, SAMPLE_BATCH)
        ]
        return np.vstack(parts) if parts else np.empty((0, len(self.order_)))

    def _draw_batch(self, n: int, rng: np.random.Generator, fixed: dict[int, int]) -> np.ndarray:
        net, vocab = self.net_, self.vocab_
        tokens = torch.zeros((len(self.order_), n), dtype=torch.long)  # a row per block
        with torch.inference_mode():
            context = torch.zeros(n, net.embed.embedding_dim)
            for block, code in fixed.items():
                tokens[block] = int(vocab.token_of(block)[code])
                context += net.embed_column(block, tokens[block])
            for block in (b for b in self.order_ if b not in fixed):
                logits = net.logits(context, block)
                if not vocab.seen[block].all():
                    logits[:, ~torch.from_numpy(vocab.seen[block])] = -torch.inf
                cdf = logits.sub_(logits.amax(dim=1, keepdim=True)).exp_().cumsum(dim=1)
                u = torch.from_numpy(rng.random((n, 1), dtype=np.float32)).mul_(cdf[:, -1:])
                drawn = torch.searchsorted(cdf, u).clamp_(max=cdf.shape[1] - 1)[:, 0]
                tokens[block] = drawn
                context += net.embed_column(block, drawn)
        codes = vocab.decode(tokens.numpy().T, rng)
        for block, code in fixed.items():
            codes[:, block] = code
        return codes.astype(float)

    def _get_state(self) -> dict[str, Any]:
        return {
            "net": weights(self.net_),
            "vocab": self.vocab_.state(),
            "order": np.asarray(self.order_, dtype=np.int64),
            "loss_history": {k: v.to_numpy() for k, v in self.loss_history_.items()},
            "best_epoch": self.best_epoch_,
            "privacy": getattr(self, "privacy_spent_", None),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.vocab_ = Vocab.from_state(state["vocab"])
        self.order_ = [int(b) for b in np.asarray(state["order"]).ravel()]
        with seeded(np.random.default_rng(0)):
            self.net_ = self._build()
        load_weights(self.net_, state["net"])
        self.loss_history_ = pd.DataFrame(
            {k: np.asarray(v) for k, v in state["loss_history"].items()}
        )
        self.best_epoch_ = int(state["best_epoch"])
        if state.get("privacy") is not None:
            self.privacy_spent_ = state["privacy"]


def fixed_order(blocks: list[Block]) -> list[int]:
    """The table's column order, each column's status block (null, infinity) before its value.

    Example:
        >>> fixed_order([Block("c0.bin", "discrete", 4), Block("c0.status", "discrete", 2),
        ...              Block("c1.code", "discrete", 3)])
        [1, 0, 2]
    """

    def key(index: int) -> tuple[int, int]:
        column, _, kind = blocks[index].name.partition(".")
        return int(column[1:]), 0 if kind == "status" else 1

    return sorted(range(len(blocks)), key=key)
