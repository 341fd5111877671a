"""Import ``mbi`` (private-pgm) with JAX configured for it: float64, no persistent cache."""

from __future__ import annotations

import warnings
from types import ModuleType


def load() -> ModuleType:
    """The ``mbi`` module, with JAX in 64-bit mode and its compilation cache off.

    Example:
        >>> load().Domain(["a"], [2]).shape
        (2,)
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_enable_compilation_cache", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import mbi
        import mbi.estimation
    return mbi
