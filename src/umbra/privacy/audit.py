"""Empirical check of a DP guarantee: plant a canary, train many times, attack the outputs.

A canary is one record with a value no other record has. Half of the trials train with it,
half without; the attack scores each synthetic table by how many of its rows carry the canary's
value and guesses "was in" above a threshold. Any (epsilon, delta)-DP training bounds what such a
test can achieve: ``FPR + e^epsilon * FNR >= 1 - delta`` and the same with the roles swapped
(Kairouz et al. 2015), so the observed error rates, taken at their Clopper-Pearson upper
confidence bounds, give a *lower bound* on the epsilon the training really has (Jagielski et
al. 2020). For a correct DP implementation it stays at or below the claimed epsilon; without
DP a canary is found every time and the bound is as high as the number of trials allows.

Example:
    >>> epsilon_lower_bound(np.array([5.0] * 40), np.zeros(40))[0] > 2.0  # perfectly separated
    True
    >>> epsilon_lower_bound(np.zeros(40), np.zeros(40))[0]  # indistinguishable
    0.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import beta


@dataclass(frozen=True)
class AuditResult:
    """The empirical lower bound on epsilon and the attack behind it."""

    epsilon_lower: float
    threshold: float
    false_positive_rate: float
    false_negative_rate: float
    trials: int


def _upper(errors: int, n: int, alpha: float) -> float:
    """Clopper-Pearson upper bound on a rate observed as ``errors`` of ``n``."""
    return 1.0 if errors >= n else float(beta.ppf(1 - alpha, errors + 1, n - errors))


def epsilon_lower_bound(
    scores_in: np.ndarray, scores_out: np.ndarray, delta: float = 0.0, confidence: float = 0.95
) -> tuple[float, float]:
    """(epsilon lower bound, threshold) over every threshold of the scores, at ``confidence``
    (split between the two error rates)."""
    alpha = (1 - confidence) / 2
    best, where = 0.0, math.inf
    for t in np.unique(np.concatenate([scores_in, scores_out])):
        fpr = _upper(int((scores_out >= t).sum()), len(scores_out), alpha)
        fnr = _upper(int((scores_in < t).sum()), len(scores_in), alpha)
        for a, b in ((fpr, fnr), (fnr, fpr)):
            if b > 0 and 1 - delta - a > 0:
                value = math.log((1 - delta - a) / b)
                if value > best:
                    best, where = value, float(t)
    return best, where


def canary_audit(
    fit: Callable[[pd.DataFrame, int], Any],
    data: pd.DataFrame,
    canary: pd.Series,
    column: str,
    *,
    trials: int = 40,
    sample_rows: int | None = None,
    delta: float = 0.0,
) -> AuditResult:
    """Train ``trials`` times (``fit(table, seed)`` returns a fitted synthesizer), half with
    the ``canary`` row appended, and attack on ``column``'s canary value.

    ``sample_rows`` synthetic rows per trial (default ten times the table).
    """
    value = canary[column]
    with_canary = pd.concat([data, canary.to_frame().T.astype(data.dtypes)], ignore_index=True)
    n = sample_rows or 10 * len(with_canary)
    scores: dict[bool, list[float]] = {True: [], False: []}
    for seed in range(trials):
        planted = seed % 2 == 0
        synth = fit(with_canary if planted else data, seed)
        scores[planted].append(float((synth.sample(n)[column] == value).sum()))
    inside, outside = np.array(scores[True]), np.array(scores[False])
    epsilon, threshold = epsilon_lower_bound(inside, outside, delta)
    return AuditResult(
        epsilon_lower=epsilon,
        threshold=threshold,
        false_positive_rate=float((outside >= threshold).mean()),
        false_negative_rate=float((inside < threshold).mean()),
        trials=trials,
    )
