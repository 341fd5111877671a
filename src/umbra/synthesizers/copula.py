"""Gaussian copula: each encoded column through its marginal to a normal score, one correlation.

Continuous blocks keep an interpolated quantile function; discrete blocks map each code to an
interval of [0, 1] (most frequent first) and draw inside it, so categories take part in the
correlation.

Example:
    >>> import pandas as pd, umbra
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2000)
    >>> df = pd.DataFrame({"x": x, "y": x + rng.normal(scale=0.3, size=2000)})
    >>> meta = umbra.Metadata.detect(df, warn=False)
    >>> meta.update("x", bounds=(-10, 10)).update("y", bounds=(-10, 10))
    Metadata('x': numerical, 'y': numerical)
    >>> fake = GaussianCopula(random_state=0).fit(df, metadata=meta).sample(2000)
    >>> bool(fake.corr().iloc[0, 1] > 0.9)
    True
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy import special

from umbra._random import RandomState
from umbra.exceptions import InputError
from umbra.synthesizers.base import Synthesizer
from umbra.synthesizers.registry import register
from umbra.transforms.base import Block

EPS = 1e-9


@register
class GaussianCopula(Synthesizer):
    """A fast baseline: exact marginals, linear dependence between normal scores.

    Args:
        n_quantiles: points of each continuous marginal's quantile function.
        random_state: seed for fitting and sampling.
    """

    name = "copula"
    kinds_: list[str]
    quantiles_: list[np.ndarray]
    cholesky_: np.ndarray

    def __init__(self, *, n_quantiles: int = 1000, random_state: RandomState = None) -> None:
        super().__init__(random_state=random_state)
        self.n_quantiles = n_quantiles

    def _fit(self, encoded: np.ndarray, blocks: list[Block], rng: np.random.Generator) -> None:
        if not isinstance(self.n_quantiles, numbers.Integral) or self.n_quantiles < 2:
            raise InputError(f"n_quantiles must be an integer >= 2, received {self.n_quantiles!r}")
        from scipy.stats import rankdata

        n, width = encoded.shape
        scores = np.empty((n, width))
        self.kinds_ = [b.kind for b in blocks]
        self.quantiles_ = []
        for j, block in enumerate(blocks):
            column = encoded[:, j]
            if block.kind == "continuous":
                probs = np.linspace(0.0, 1.0, int(self.n_quantiles))
                self.quantiles_.append(np.quantile(column, probs))
                uniform = (rankdata(column) - 0.5) / n
            else:
                counts = np.bincount(column.astype(int), minlength=block.size)[: block.size]
                order = np.argsort(-counts, kind="stable")
                upper = np.cumsum(counts[order]) / n
                self.quantiles_.append(np.vstack([order.astype(float), upper]))
                uniform = _draw_in_interval(column.astype(int), order, upper, rng)
            scores[:, j] = special.ndtri(np.clip(uniform, EPS, 1 - EPS))
        self.cholesky_ = np.linalg.cholesky(_correlation(scores))

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        width = len(self.kinds_)
        normal = rng.standard_normal((n, width)) @ self.cholesky_.T
        uniform = special.ndtr(normal)
        out = np.empty((n, width))
        for j, kind in enumerate(self.kinds_):
            table = self.quantiles_[j]
            if kind == "continuous":
                out[:, j] = np.interp(uniform[:, j], np.linspace(0.0, 1.0, len(table)), table)
            else:
                order, upper = table[0].astype(int), table[1]
                index = np.searchsorted(upper, uniform[:, j], side="right")
                out[:, j] = order[np.minimum(index, len(order) - 1)]
        return out

    def _get_state(self) -> dict[str, Any]:
        return {"kinds": self.kinds_, "quantiles": self.quantiles_, "cholesky": self.cholesky_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.kinds_ = list(state["kinds"])
        self.quantiles_ = [np.asarray(q) for q in state["quantiles"]]
        self.cholesky_ = np.asarray(state["cholesky"])


def _draw_in_interval(
    codes: np.ndarray, order: np.ndarray, upper: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A uniform draw inside each code's interval of [0, 1]."""
    position = np.empty(len(order), dtype=int)
    position[order] = np.arange(len(order))
    hi = upper[position[codes]]
    lo = np.concatenate([[0.0], upper])[position[codes]]
    return lo + rng.random(len(codes)) * (hi - lo)


def _correlation(scores: np.ndarray) -> np.ndarray:
    """Pearson correlation of the scores (constant columns uncorrelated), positive definite."""
    width = scores.shape[1]
    if width == 0:
        return np.eye(0)
    std = scores.std(axis=0)
    safe = np.where(std > 0, std, 1.0)
    centered = (scores - scores.mean(axis=0)) / safe
    corr = centered.T @ centered / len(scores)
    corr[std == 0, :] = 0.0
    corr[:, std == 0] = 0.0
    np.fill_diagonal(corr, 1.0)
    values, vectors = np.linalg.eigh(corr)
    corr = (vectors * np.maximum(values, 1e-6)) @ vectors.T
    scale = np.sqrt(np.diag(corr))
    return corr / np.outer(scale, scale)
