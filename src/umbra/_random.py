"""One way to make randomness: a seed becomes a :class:`numpy.random.Generator`.

The global NumPy random state is never touched.

Example:
    >>> a = make_rng(0).integers(0, 100, 3)
    >>> b = make_rng(0).integers(0, 100, 3)
    >>> bool((a == b).all())
    True
"""

from __future__ import annotations

import numbers

import numpy as np

from umbra.exceptions import InputError

RandomState = int | np.random.Generator | None


def make_rng(random_state: RandomState) -> np.random.Generator:
    """A generator for ``random_state``: an int seed, a Generator, or None (fresh entropy).

    Example:
        >>> make_rng(None).random() < 1.0
        True
    """
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if int(random_state) < 0:
            raise InputError(
                f"random_state must be a non-negative integer; received {random_state}. "
                "Pass a seed such as 0."
            )
        return np.random.default_rng(int(random_state))
    raise InputError(
        "random_state must be an int seed, a numpy Generator or None; received "
        f"{type(random_state).__name__} {random_state!r}. Pass a seed such as 0."
    )


def spawn(rng: np.random.Generator) -> np.random.Generator:
    """Derive an independent child generator from ``rng`` (advancing ``rng``).

    Example:
        >>> child = spawn(make_rng(1))
        >>> isinstance(child, np.random.Generator)
        True
    """
    return np.random.default_rng(rng.integers(0, 2**63 - 1))
