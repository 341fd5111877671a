"""PyTorch helpers: seeded work without touching the global RNG, threads, weights as arrays.

Example:
    >>> import numpy as np
    >>> with seeded(np.random.default_rng(0)):
    ...     a = torch.rand(2)
    >>> with seeded(np.random.default_rng(0)):
    ...     b = torch.rand(2)
    >>> bool(torch.equal(a, b))
    True
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from umbra.exceptions import InputError, PersistenceError


@contextmanager
def seeded(rng: np.random.Generator) -> Iterator[None]:
    """Run a block with torch's CPU RNG seeded from ``rng``; restore the global state after."""
    seed = int(rng.integers(0, 2**62))
    previous = torch.get_num_threads()
    torch.set_num_threads(threads())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


def threads() -> int:
    """PyTorch threads: ``UMBRA_THREADS`` if set, else every core.

    Example:
        >>> threads() >= 1
        True
    """
    text = os.environ.get("UMBRA_THREADS", "")
    if not text:
        return max(1, os.cpu_count() or 1)
    if not text.isdigit() or int(text) < 1:
        raise InputError(f"UMBRA_THREADS must be a positive integer, received {text!r}")
    return int(text)


def weights(module: nn.Module) -> dict[str, np.ndarray]:
    """The module's parameters and buffers as NumPy arrays (for JSON + npz persistence).

    Example:
        >>> sorted(weights(nn.Linear(2, 1)))
        ['bias', 'weight']
    """
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def load_weights(module: nn.Module, arrays: dict[str, np.ndarray]) -> nn.Module:
    """Load arrays from :func:`weights` into ``module`` (strict: names and shapes must match)."""
    state = {k: torch.as_tensor(np.asarray(v)) for k, v in arrays.items()}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1].strip()
        raise PersistenceError(
            f"the model file's weights do not fit its parameters ({first}); the file was edited "
            "or damaged: fit the model again and save it."
        ) from None
    return module.eval()
