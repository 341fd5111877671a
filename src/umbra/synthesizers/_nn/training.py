"""The training monitor shared by the neural models: history, progress, early stopping, warnings.

Early stopping watches either a held-out *fidelity* signal (generated rows against validation
rows: per-block marginals and the correlation of the one-hot representation) or a *loss*
plateau; the best weights seen are restored at the end. A non-finite loss stops training with a
:class:`~umbra.exceptions.TrainingWarning`.

Example:
    >>> from umbra.transforms.base import Block
    >>> layout = Layout([Block("c0.code", "discrete", 2)])
    >>> real = np.array([[0.0], [1.0]] * 50)
    >>> round(fidelity(real, real, layout), 6)
    1.0
    >>> fidelity(real, np.zeros((100, 1)), layout) < 0.8
    True
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from umbra.exceptions import InputError, TrainingWarning
from umbra.synthesizers._nn.layout import Layout

STOPPING = ("fidelity", "loss", None)
CHECK_ROWS = 5000
RARE_SHARE = 0.005


def check_training_params(epochs: Any, batch_size: Any, early_stopping: Any, patience: Any) -> None:
    """Raise :class:`InputError` naming the first bad training hyperparameter."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("patience", patience)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive integer, received {value!r}")
    if early_stopping not in STOPPING:
        raise InputError(
            f"early_stopping must be 'fidelity', 'loss' or None, received {early_stopping!r}"
        )


def check_positive(model: Any, integers: tuple[str, ...], numbers: tuple[str, ...]) -> None:
    """Raise :class:`InputError` naming the first of ``model``'s attributes ``integers`` that is
    not a positive integer, or ``numbers`` that is not a positive number.

    Example:
        >>> class M:
        ...     layers, rate = 0, 0.1
        >>> check_positive(M(), ("layers",), ("rate",))
        Traceback (most recent call last):
        ...
        umbra.exceptions.InputError: layers must be a positive integer, received 0
    """
    for name in integers:
        value = getattr(model, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive integer, received {value!r}")
    for name in numbers:
        value = getattr(model, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise InputError(f"{name} must be a positive number, received {value!r}")


def fidelity(real: np.ndarray, fake: np.ndarray, layout: Layout) -> float:
    """Similarity in [0, 1] of two encoded tables: marginals and one-hot correlations."""
    scores = []
    for j, span in enumerate(layout.spans):
        if span.discrete:
            p = np.bincount(real[:, j].astype(int), minlength=span.width)[: span.width] / len(real)
            q = np.bincount(fake[:, j].astype(int), minlength=span.width)[: span.width] / len(fake)
            scores.append(1.0 - 0.5 * float(np.abs(p - q).sum()))
        else:
            from scipy.stats import ks_2samp

            scores.append(1.0 - float(ks_2samp(real[:, j], fake[:, j]).statistic))
    marginal = float(np.mean(scores)) if scores else 1.0
    a, b = _corr(layout.to_matrix(real)), _corr(layout.to_matrix(fake))
    between = _between_blocks(layout)
    weight = np.abs(a[between])  # strong real dependences count most, sampling noise least
    strength = float((weight**2).sum())
    error = float((weight * np.abs(a - b)[between]).sum())
    pair = max(0.0, 1.0 - error / strength) if strength > 0 else 1.0
    return 0.5 * marginal + 0.5 * pair


def _between_blocks(layout: Layout) -> np.ndarray:
    """Mask of unit pairs that belong to different blocks (dependence between columns)."""
    owner = np.concatenate([np.full(s.width, j) for j, s in enumerate(layout.spans)])
    return owner[:, None] != owner[None, :]


def _corr(matrix: np.ndarray) -> np.ndarray:
    std = matrix.std(axis=0)
    centered = (matrix - matrix.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return centered.T @ centered / max(len(matrix), 1)


def missing_categories(real: np.ndarray, fake: np.ndarray, layout: Layout) -> list[tuple[int, int]]:
    """(block, code) pairs of conditionable blocks frequent in ``real`` but absent in ``fake``."""
    out = []
    for j in layout.cond_blocks:
        width = layout.spans[j].width
        share = np.bincount(real[:, j].astype(int), minlength=width)[:width] / len(real)
        seen = np.bincount(fake[:, j].astype(int), minlength=width)[:width] > 0
        out += [(j, int(k)) for k in np.flatnonzero((share >= RARE_SHARE) & ~seen)]
    return out


class Monitor:
    """Record losses per epoch, show progress, decide when to stop, keep the best weights.

    Args:
        epochs: the most epochs to train.
        early_stopping: ``"fidelity"``, ``"loss"`` or ``None``.
        patience: checks without improvement before stopping.
        monitored: the loss watched by ``"loss"`` early stopping.
        verbose: show a progress bar with the current losses on stderr.
        label: the model's name in the progress bar.
    """

    def __init__(
        self,
        *,
        epochs: int,
        early_stopping: str | None,
        patience: int,
        monitored: str,
        verbose: bool,
        label: str,
    ) -> None:
        self.epochs, self.early_stopping, self.patience = epochs, early_stopping, patience
        self.monitored, self.verbose, self.label = monitored, verbose, label
        self.rows: list[dict[str, float]] = []
        self.best_score = -math.inf
        self.best_epoch = 0
        self.best_state: Any = None
        self.waited = 0
        self.diverged = False
        self._start = time.perf_counter()
        self._progress: Any = None

    def __enter__(self) -> Monitor:
        if self.verbose:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn(f"Training {self.label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[losses]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()
            self._task = self._progress.add_task("train", total=self.epochs, losses="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def end_epoch(
        self,
        epoch: int,
        losses: dict[str, float],
        score: Callable[[], float] | None,
        snapshot: Callable[[], Any],
        healthy: bool = True,
    ) -> bool:
        """Record one epoch; return True when training should stop.

        ``healthy`` is False when the weights are no longer finite (the epoch diverged even if
        its mean losses did not show it).
        """
        row: dict[str, float] = {"epoch": float(epoch), **losses}
        row["seconds"] = time.perf_counter() - self._start
        if not healthy or not all(math.isfinite(v) for v in losses.values()):
            self.diverged = True
            self._record(row)
            return True
        value = None
        if self.early_stopping == "fidelity" and score is not None:
            value = score()
            row["fidelity"] = value
        elif self.early_stopping == "loss":
            value = -losses[self.monitored]
        self._record(row)
        best = self.best_score
        margin = 1e-4 * max(1.0, abs(best)) if math.isfinite(best) else 0.0
        if value is None or value > best + margin:
            self.best_score = -math.inf if value is None else value
            self.best_epoch, self.waited = epoch, 0
            self.best_state = copy.deepcopy(snapshot())
            return False
        self.waited += 1
        return self.waited >= self.patience

    def _record(self, row: dict[str, float]) -> None:
        self.rows.append(row)
        if self._progress is not None:
            skip = ("epoch", "seconds")
            shown = "  ".join(f"{k} {v:.3f}" for k, v in row.items() if k not in skip)
            self._progress.update(self._task, advance=1, losses=shown)

    def finish(self, restore: Callable[[Any], None]) -> pd.DataFrame:
        """Restore the best weights (when early stopping chose them); return the history."""
        if self.diverged and self.best_state is None:
            raise InputError(
                f"{self.label} training diverged in its first epoch (a loss or weight became "
                "infinite or NaN), so there are no weights to keep. Lower learning_rate, or "
                "check the data for extreme values."
            )
        if self.diverged:
            warnings.warn(
                f"{self.label} training diverged (a loss became infinite or NaN) at epoch "
                f"{int(self.rows[-1]['epoch'])}; the weights of epoch {self.best_epoch} are kept. "
                "Lower the learning rate or check the data for extreme values.",
                TrainingWarning,
                stacklevel=3,
            )
        if self.best_state is not None:
            restore(self.best_state)
        return pd.DataFrame(self.rows)
