"""The encoder contract shared by every per-column encoder.

An encoder turns one column into *blocks*: continuous blocks hold floats, discrete blocks hold
integer codes ``0..size-1`` (stored as floats). ``inverse`` turns blocks back into the column with
its dtype, nulls, integer-ness, precision and bounds.

Example:
    >>> Block("c0.value", "continuous", 1)
    Block(name='c0.value', kind='continuous', size=1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from umbra.metadata.spec import ColumnSpec


@dataclass(frozen=True)
class Block:
    """One encoded column: ``kind`` is ``"continuous"`` or ``"discrete"`` (with ``size`` codes)."""

    name: str
    kind: str
    size: int


class Encoder:
    """Base class: subclasses implement ``fit``, ``blocks``, ``transform`` and ``inverse``.

    Learned state lives in plain attributes holding JSON values or NumPy arrays, so that
    :meth:`state` and :meth:`from_state` can persist any encoder without pickling.
    """

    registry: ClassVar[dict[str, type[Encoder]]] = {}
    kind_name: ClassVar[str] = ""
    #: True for DP models: the block layout (null and infinity codes) follows the spec alone.
    public: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind_name:
            Encoder.registry[cls.kind_name] = cls

    def __init__(self, spec: ColumnSpec, prefix: str) -> None:
        self.spec = spec
        self.prefix = prefix
        self.learned: list[str] = []

    def fit(self, series: pd.Series, rng: np.random.Generator) -> Encoder:
        """Learn what the column needs; return ``self``."""
        raise NotImplementedError

    def blocks(self) -> list[Block]:
        """The encoded blocks, in the column order of :meth:`transform`'s output."""
        raise NotImplementedError

    def transform(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        """Encode ``series`` into an array of shape ``(len(series), len(blocks()))``."""
        raise NotImplementedError

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Decode an array shaped like :meth:`transform`'s output back into the column."""
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """Learned state (JSON values and arrays), without the spec."""
        return {k: v for k, v in vars(self).items() if k != "spec"}

    @classmethod
    def from_state(cls, spec: ColumnSpec, state: dict[str, Any]) -> Encoder:
        """Rebuild an encoder from :meth:`state` and its column spec."""
        encoder = cls.__new__(cls)
        encoder.spec = spec
        vars(encoder).update(state)
        return encoder


def restore_dtype(values: pd.Series, dtype: str) -> pd.Series:
    """Cast ``values`` to ``dtype`` where the values allow it (else keep them as they are).

    Example:
        >>> restore_dtype(pd.Series([1.0, None]), "Int64").dtype
        Int64Dtype()
    """
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values


def fill_from_values(values: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replace ``values[mask]`` with random draws from ``values[~mask]`` (or 0 if none).

    Example:
        >>> out = fill_from_values(np.array([1.0, np.nan]), np.array([False, True]),
        ...                        np.random.default_rng(0))
        >>> out.tolist()
        [1.0, 1.0]
    """
    out = values.astype(float, copy=True)
    pool = out[~mask]
    if mask.any():
        out[mask] = rng.choice(pool, size=int(mask.sum())) if len(pool) else 0.0
    return out
