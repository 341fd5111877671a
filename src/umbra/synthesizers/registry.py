"""An explicit registry of synthesizers: :func:`register`, :func:`create`, :func:`available`.

Example:
    >>> "copula" in available()
    True
    >>> create("copula", random_state=1).random_state
    1
"""

from __future__ import annotations

from typing import Any, TypeVar

from umbra.exceptions import InputError
from umbra.synthesizers.base import Synthesizer

_REGISTRY: dict[str, type[Synthesizer]] = {}
# Models that need PyTorch are imported on first use, so that `import umbra` stays fast.
_LAZY = {
    "aim": "umbra.synthesizers.aim",
    "ar": "umbra.synthesizers.ar",
    "ctgan": "umbra.synthesizers.ctgan",
    "mst": "umbra.synthesizers.mst",
    "sequence": "umbra.synthesizers.sequence",
    "tvae": "umbra.synthesizers.tvae",
}
# Models of per-entity sequences (one row per event), not of independent rows.
SEQUENCE_MODELS = frozenset({"sequence"})
S = TypeVar("S", bound=type[Synthesizer])


def register(cls: S) -> S:
    """Register a :class:`Synthesizer` subclass under its ``name``."""
    if not cls.name:
        raise InputError(f"{cls.__name__} has no name; set the class attribute `name`.")
    _REGISTRY[cls.name] = cls
    return cls


def available(kind: str | None = None) -> list[str]:
    """Names of the registered synthesizers, sorted; ``kind``: only ``"table"`` or
    ``"sequence"`` models.

    Example:
        >>> available("sequence")
        ['sequence']
    """
    names = sorted(set(_REGISTRY) | set(_LAZY))
    if kind is None:
        return names
    if kind not in ("table", "sequence"):
        raise InputError(f"kind must be 'table', 'sequence' or None, received {kind!r}")
    sequence = SEQUENCE_MODELS | {n for n, c in _REGISTRY.items() if c.data_kind == "sequence"}
    return [n for n in names if (n in sequence) == (kind == "sequence")]


def get(name: str) -> type[Synthesizer]:
    """The class registered as ``name``."""
    if name not in _REGISTRY and name in _LAZY:
        import importlib

        importlib.import_module(_LAZY[name])
    if name not in _REGISTRY:
        raise InputError(f"unknown model {name!r}; available models: {', '.join(available())}.")
    return _REGISTRY[name]


def create(name: str, **params: Any) -> Synthesizer:
    """Create the synthesizer registered as ``name`` with keyword hyperparameters."""
    cls = get(name)
    unknown = sorted(set(params) - set(cls.param_names()))
    if unknown:
        raise InputError(
            f"model {name!r} has no parameter(s) {unknown}; its parameters are {cls.param_names()}."
        )
    return cls(**params)
