"""AIM's privacy maths (McKenna, Mullins, Sheldon & Miklau 2022), as pure functions.

AIM measures marginals one round at a time in zero-concentrated DP: each round selects a clique
with the exponential mechanism (``epsilon`` costs ``epsilon^2 / 8``) and measures it with
Gaussian noise (``sigma`` costs ``1 / (2 sigma^2)``). The workload (the marginals the user
cares about) weights the candidates; a round's budget starts from ``16 d`` planned rounds and
doubles whenever a measurement barely moves the model; the last round takes whatever is left
(or, when time is up, one more round's worth), so the rounds never spend more than the budget.

Example:
    >>> weights = candidate_weights(workload(3))
    >>> weights[(0, 1)], weights[(0,)]
    (4.0, 2.0)
    >>> sigma, epsilon = initial_scales(rho=0.1, columns=3)
    >>> round(round_cost(sigma, epsilon) * 16 * 3, 6)
    0.1
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from umbra.exceptions import InputError

Clique = tuple[int, ...]
ALPHA = 0.9  # share of a round's budget spent measuring; the rest selects
ROUNDS_PER_COLUMN = 16  # rounds planned per column before any annealing


def workload(d: int, degree: int = 2) -> list[Clique]:
    """Every set of ``degree`` columns (all of them when there are fewer).

    Example:
        >>> workload(3)
        [(0, 1), (0, 2), (1, 2)]
    """
    if degree < 1:
        raise InputError(f"the workload degree must be at least 1, received {degree}")
    return list(itertools.combinations(range(d), min(degree, d)))


def candidate_weights(work: list[Clique]) -> dict[Clique, float]:
    """Every non-empty subset of a workload clique, weighted by its overlap with the workload
    (``w_r = sum over s in the workload of |r & s|``)."""
    closure = {sub for clique in work for k in range(1, len(clique) + 1)
               for sub in itertools.combinations(clique, k)}  # fmt: skip
    return {r: float(sum(len(set(r) & set(s)) for s in work)) for r in sorted(closure)}


def initial_scales(rho: float, columns: int) -> tuple[float, float]:
    """Noise deviation and selection epsilon of a round when ``rho`` is split over
    ``ROUNDS_PER_COLUMN`` rounds per column (the one-way measurements take ``columns`` of
    them at the noise alone, so they spend ``ALPHA / ROUNDS_PER_COLUMN`` of ``rho``)."""
    if rho <= 0 or columns < 1:
        raise InputError(f"need rho > 0 and columns >= 1, received {rho}, {columns}")
    rounds = ROUNDS_PER_COLUMN * columns
    return math.sqrt(rounds / (2 * ALPHA * rho)), math.sqrt(8 * (1 - ALPHA) * rho / rounds)


def final_scales(rho_left: float) -> tuple[float, float]:
    """The scales that spend exactly ``rho_left`` (a hair less, for rounding) in one round."""
    rho = rho_left * (1 - 1e-9)
    if rho <= 0:
        raise InputError(f"no budget left for a final round ({rho_left})")
    return math.sqrt(1 / (2 * ALPHA * rho)), math.sqrt(8 * (1 - ALPHA) * rho)


def next_round(
    rho: float, used: float, sigma: float, epsilon: float, stop: bool
) -> tuple[float, float, bool]:
    """The scales of the next round and whether it is the last. With less than two rounds'
    budget left it is, and spends all that is left. When ``stop`` (time is up) it is too, at
    the current scales (one very precise measurement would only slow the estimation down and
    leave the other marginals as they are), or with what is left if that is less.

    Example:
        >>> next_round(1.0, 0.0, 10.0, 0.1, stop=True)
        (10.0, 0.1, True)
        >>> next_round(1.0, 0.999, 10.0, 0.1, stop=False)[2]
        True
    """
    left = rho - used
    if stop and left >= round_cost(sigma, epsilon):
        return sigma, epsilon, True
    if stop or left < 2 * round_cost(sigma, epsilon):
        return (*final_scales(left), True)
    return sigma, epsilon, False


def measure_cost(sigma: float) -> float:
    """zCDP rho of one Gaussian measurement of sensitivity 1."""
    return 1 / (2 * sigma**2)


def round_cost(sigma: float, epsilon: float) -> float:
    """zCDP rho of one select-and-measure round."""
    return measure_cost(sigma) + epsilon**2 / 8


def expected_noise(sigma: float, cells: int) -> float:
    """Expected L1 norm of Gaussian noise of deviation ``sigma`` over ``cells`` cells."""
    return math.sqrt(2 / math.pi) * sigma * cells


def scores(errors: np.ndarray, weights: np.ndarray, cells: np.ndarray, sigma: float) -> np.ndarray:
    """AIM's quality scores: the weighted L1 error of the model on each candidate, less the
    error a measurement at ``sigma`` would leave. Each has sensitivity ``weights`` (a record
    moves the data's counts by 1 in L1).

    Example:
        >>> scores(np.array([100.0, 10.0]), np.array([1.0, 2.0]), np.array([4, 4]), 1.0).round(2)
        array([96.81, 13.62])
    """
    noise = np.sqrt(2 / np.pi) * sigma * np.asarray(cells, dtype=float)
    return np.asarray(weights, dtype=float) * (np.asarray(errors, dtype=float) - noise)


def exponential_choice(
    values: np.ndarray, sensitivity: float, epsilon: float | None, rng: np.random.Generator
) -> int:
    """The exponential mechanism: ``P(i) ~ exp(epsilon * values_i / (2 sensitivity))``
    (``epsilon=None``: the best, no privacy)."""
    if epsilon is None:
        return int(np.argmax(values))
    logits = 0.5 * epsilon / sensitivity * (values - np.max(values))
    weights = np.exp(logits)
    return int(rng.choice(len(values), p=weights / weights.sum()))
