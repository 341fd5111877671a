"""Mode-specific normalisation: a Bayesian Gaussian mixture splits a multi-modal number.

Each value becomes (mode, alpha): the mixture component it is drawn to, and its offset inside that
component in units of four standard deviations. A value held by at least 5% of the rows (the zero
of a mostly-zero amount, a standard 40-hour week) is a mode of its own with no spread, so that it
comes back exactly, as in the mixed-type encoder of Zhao et al. (2021); the mixture models the rest.

Example:
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 1, 500), rng.normal(50, 2, 500)])
    >>> norm = ModeNormalizer.fit(x, rng)
    >>> alpha, mode = norm.transform(x, rng)
    >>> bool(np.abs(norm.inverse(alpha, mode) - x).max() < 1e-6)
    True
    >>> spiky = np.concatenate([np.zeros(900), rng.exponential(1000, 100)])
    >>> norm = ModeNormalizer.fit(spiky, rng)
    >>> float(norm.means[0]), float(norm.stds[0]), round(float(norm.weights[0]), 2)
    (0.0, 0.0, 0.9)
    >>> alpha, mode = norm.transform(np.array([0.0, 0.0]), rng)
    >>> alpha.tolist(), norm.inverse(np.array([0.7, -0.3]), mode).tolist()
    ([0.0, 0.0], [0.0, 0.0])
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

MAX_MODES = 10
MIN_WEIGHT = 0.005
FIT_ROWS = 10_000
POINT_SHARE = 0.05


class ModeNormalizer:
    """Learned mixture components (weights, means, standard deviations)."""

    def __init__(self, weights: np.ndarray, means: np.ndarray, stds: np.ndarray) -> None:
        self.weights, self.means, self.stds = weights, means, stds

    @property
    def n_modes(self) -> int:
        """Number of kept components."""
        return len(self.weights)

    @classmethod
    def fit(cls, values: np.ndarray, rng: np.random.Generator) -> ModeNormalizer:
        """Frequent exact values as point modes; a Dirichlet-process mixture for the rest."""
        if len(values) > FIT_ROWS:
            values = rng.choice(values, FIT_ROWS, replace=False)
        distinct, counts = np.unique(values, return_counts=True)
        point = counts >= POINT_SHARE * len(values)
        rest = values[~np.isin(values, distinct[point])]
        share = counts[point] / max(len(values), 1)
        if len(rest) == 0:
            return cls(share / share.sum(), distinct[point], np.zeros(int(point.sum())))
        mixture = cls._mixture(rest, rng)
        return cls(
            np.concatenate([share, mixture.weights * len(rest) / len(values)]),
            np.concatenate([distinct[point], mixture.means]),
            np.concatenate([np.zeros(int(point.sum())), mixture.stds]),
        )

    @classmethod
    def _mixture(cls, values: np.ndarray, rng: np.random.Generator) -> ModeNormalizer:
        """A Dirichlet-process mixture on ``values``, keeping heavy modes."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import BayesianGaussianMixture

        distinct = len(np.unique(values))
        if distinct < 2:
            return cls(np.ones(1), np.array([float(values[0])]), np.ones(1))
        model = BayesianGaussianMixture(
            n_components=min(MAX_MODES, distinct),
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=1e-3,
            max_iter=100,
            random_state=int(rng.integers(0, 2**31 - 1)),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(values.reshape(-1, 1))
        keep = model.weights_ > MIN_WEIGHT
        stds = np.sqrt(model.covariances_.reshape(-1))[keep]
        weights = model.weights_[keep] / model.weights_[keep].sum()
        return cls(weights, model.means_.reshape(-1)[keep], np.maximum(stds, 1e-6))

    def transform(
        self, values: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw each value's mode from its posterior; return (alpha, mode).

        A point mode (no spread) takes exactly its own value, with alpha 0.
        """
        point = self.stds == 0
        scale = np.where(point, 1e-9 * (1.0 + np.abs(self.means)), self.stds)
        z = (values[:, None] - self.means) / scale
        logp = -0.5 * z**2 - np.log(scale) + np.log(self.weights)
        post = np.exp(logp - logp.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
        cumulative = post.cumsum(axis=1)
        draws = rng.random(len(values))[:, None]
        mode = np.minimum((cumulative < draws).sum(axis=1), self.n_modes - 1)
        alpha = np.where(point[mode], 0.0, (values - self.means[mode]) / (4 * scale[mode]))
        return alpha, mode

    def inverse(self, alpha: np.ndarray, mode: np.ndarray) -> np.ndarray:
        """Values from (alpha, mode)."""
        mode = np.clip(mode, 0, self.n_modes - 1)
        return alpha * 4 * self.stds[mode] + self.means[mode]

    def state(self) -> dict[str, Any]:
        """Arrays to persist."""
        return {"weights": self.weights, "means": self.means, "stds": self.stds}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ModeNormalizer:
        """Rebuild from :meth:`state`."""
        return cls(
            np.asarray(state["weights"]), np.asarray(state["means"]), np.asarray(state["stds"])
        )
