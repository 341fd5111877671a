"""Privacy accounting: budgets, zero-concentrated DP, and the conversions between them.

The marginal-based mechanisms measure with Gaussian noise and select with the exponential
mechanism; both compose cleanly in zero-concentrated DP (zCDP, Bun & Steinke 2016): rhos add.
A user's ``(epsilon, delta)`` becomes the largest ``rho`` whose conversion back to
``(epsilon, delta)``-DP (Canonne, Kamath & Steinke 2020, Proposition 12 of the discrete-Gaussian
paper) stays within ``delta``. Every function is pure and conservative: a numerical search
that stops early errs on the side of less privacy loss claimed spent, never more.

Example:
    >>> rho = rho_for(1.0, 1e-6)
    >>> round(rho, 4)
    0.0244
    >>> delta_for(rho, 1.0) <= 1e-6
    True
    >>> round(gaussian_sigma(rho / 2, sensitivity=1.0), 2)
    6.41
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from umbra.exceptions import InputError

SEARCH_STEPS = 200


def check_budget(epsilon: Any, delta: Any, n_rows: int | None = None, units: str = "rows") -> None:
    """Raise :class:`InputError` unless ``epsilon > 0`` (finite) and ``0 < delta < 1/n_rows``
    (``units``: what ``n_rows`` counts, for the message).

    ``epsilon=None`` (no differential privacy) is allowed; a ``delta`` then has no meaning.

    Example:
        >>> check_budget(1.0, 1e-6, n_rows=32_561)
        >>> check_budget(0, 1e-6)
        Traceback (most recent call last):
        ...
        umbra.exceptions.InputError: epsilon must be a number > 0 (or None for no differential privacy), received 0
    """  # noqa: E501
    if epsilon is None:
        return
    if not _is_number(epsilon) or not math.isfinite(epsilon) or epsilon <= 0:
        raise InputError(
            "epsilon must be a number > 0 (or None for no differential privacy), "
            f"received {epsilon!r}"
        )
    if not _is_number(delta) or not 0 < delta < 1:
        raise InputError(f"delta must be a number strictly between 0 and 1, received {delta!r}")
    if n_rows is not None and n_rows > 0 and delta >= 1.0 / n_rows:
        raise InputError(
            f"delta={delta:g} is not below 1/n = {1.0 / n_rows:.3g} for {n_rows} {units}: "
            "a guarantee this weak allows publishing a real record. Use delta <= "
            f"{0.1 / n_rows:.1g}."
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def delta_for(rho: float, epsilon: float) -> float:
    """The ``delta`` at which ``rho``-zCDP implies ``(epsilon, delta)``-DP.

    ``delta = inf over alpha > 1 of exp((alpha-1)(alpha*rho - epsilon)) / (alpha-1) *
    (1 - 1/alpha)^alpha``; any alpha gives a valid bound, so the bisection's alpha (on the
    derivative of the exponent) can only overstate ``delta``.

    Example:
        >>> delta_for(0.0, 1.0)
        0.0
        >>> delta_for(0.5, 1.0) > delta_for(0.1, 1.0)
        True
    """
    if rho < 0 or epsilon < 0:
        raise InputError(f"rho and epsilon must be >= 0, received rho={rho}, epsilon={epsilon}")
    if rho == 0:
        return 0.0
    low, high = 1.0 + 1e-9, max((epsilon + 1.0) / (2.0 * rho), 2.0) + 2.0
    for _ in range(SEARCH_STEPS):
        alpha = 0.5 * (low + high)
        slope = (2 * alpha - 1) * rho - epsilon + math.log1p(-1.0 / alpha)
        low, high = (alpha, high) if slope < 0 else (low, alpha)
    alpha = 0.5 * (low + high)
    exponent = (alpha - 1) * (alpha * rho - epsilon) + alpha * math.log1p(-1.0 / alpha)
    return min(1.0, math.exp(exponent) / (alpha - 1.0))


def rho_for(epsilon: float, delta: float) -> float:
    """The largest ``rho`` (found by bisection) with ``delta_for(rho, epsilon) <= delta``."""
    check_budget(epsilon, delta)
    low, high = 0.0, max(epsilon, 1.0)
    while delta_for(high, epsilon) <= delta:  # epsilon so large that rho = epsilon still fits
        low, high = high, 2 * high
    for _ in range(SEARCH_STEPS):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if delta_for(middle, epsilon) <= delta else (low, middle)
    return low


def epsilon_for(rho: float, delta: float) -> float:
    """The smallest ``epsilon`` (by bisection, rounded up) with ``delta_for(rho, eps) <= delta``.

    Example:
        >>> epsilon_for(rho_for(3.0, 1e-6), 1e-6) <= 3.0 + 1e-9
        True
    """
    if rho <= 0:
        return 0.0
    low, high = 0.0, rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta)) + 1.0
    for _ in range(SEARCH_STEPS):
        middle = 0.5 * (low + high)
        low, high = (low, middle) if delta_for(rho, middle) <= delta else (middle, high)
    return high


def gaussian_sigma(rho: float, sensitivity: float = 1.0) -> float:
    """Noise scale of the Gaussian mechanism that is ``rho``-zCDP: ``rho = s^2 / (2 sigma^2)``."""
    if rho <= 0:
        raise InputError(f"rho must be > 0 to calibrate noise, received {rho}")
    return sensitivity / math.sqrt(2.0 * rho)


def exponential_epsilon(rho: float) -> float:
    """Epsilon of an exponential mechanism that is ``rho``-zCDP (``rho = epsilon^2 / 8``)."""
    return math.sqrt(8.0 * rho)
