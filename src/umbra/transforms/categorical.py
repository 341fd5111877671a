"""Categories and booleans as integer codes, with missing values as one more code.

Example:
    >>> import pandas as pd
    >>> from umbra.metadata.spec import ColumnSpec
    >>> spec = ColumnSpec("c", "categorical", "category", nullable=True, categories=["a", "b"])
    >>> rng = np.random.default_rng(0)
    >>> enc = CategoricalEncoder(spec, "c0").fit(pd.Series(["a", None, "b"]), rng)
    >>> enc.transform(pd.Series(["b", None]), rng).ravel().tolist()
    [1.0, 2.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from umbra.exceptions import InputError
from umbra.metadata.spec import ColumnSpec
from umbra.transforms.base import Block, Encoder, restore_dtype


def _key(value: Any) -> tuple[str, Any]:
    value = value.item() if isinstance(value, np.generic) else value
    return (type(value).__name__ if not isinstance(value, bool) else "bool", value)


class CategoricalEncoder(Encoder):
    """Codes ``0..k-1`` for the categories, ``k`` for missing (when the column is nullable)."""

    kind_name = "categorical"

    def __init__(self, spec: ColumnSpec, prefix: str) -> None:
        super().__init__(spec, prefix)
        self.categories: list[Any] = []
        self.has_null = False

    def fit(self, series: pd.Series, rng: np.random.Generator) -> CategoricalEncoder:
        if self.spec.categories is not None:
            self.categories = list(self.spec.categories)
        else:
            from umbra.metadata.detect import _sorted_categories

            self.categories = _sorted_categories(series.dropna().unique())
            self.learned.append(f"categories of {self.spec.name!r}")
        self.has_null = bool(self.spec.nullable or (not self.public and series.isna().any()))
        return self

    def blocks(self) -> list[Block]:
        size = len(self.categories) + int(self.has_null)
        return [Block(f"{self.prefix}.code", "discrete", max(size, 1))]

    def transform(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        lookup = {_key(c): i for i, c in enumerate(self.categories)}
        found, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
        mapped = np.array([lookup.get(_key(u), -1) for u in uniques] + [len(self.categories)])
        codes = mapped[found]
        unknown = [u for u, m in zip(uniques, mapped, strict=False) if m < 0]
        if unknown:
            raise InputError(
                f"column {self.spec.name!r}: values {unknown[:5]} are not among its "
                f"{len(self.categories)} known categories; add them to the metadata's categories."
            )
        return codes.astype(float).reshape(-1, 1)

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        codes = np.clip(encoded[:, 0].astype(int), 0, len(self.categories) + int(self.has_null) - 1)
        table = np.empty(len(self.categories) + 1, dtype=object)
        table[: len(self.categories)] = self.categories
        table[len(self.categories)] = None
        values = pd.Series(table[codes], dtype=object)
        if self.spec.dtype == "category":
            return pd.Series(
                pd.Categorical(values, categories=self.categories, ordered=self.spec.ordered)
            )
        return restore_dtype(values, self.spec.dtype)


class BooleanEncoder(Encoder):
    """Codes 0 for False, 1 for True, 2 for missing (when nullable)."""

    kind_name = "boolean"

    def __init__(self, spec: ColumnSpec, prefix: str) -> None:
        super().__init__(spec, prefix)
        self.has_null = False

    def fit(self, series: pd.Series, rng: np.random.Generator) -> BooleanEncoder:
        self.has_null = bool(self.spec.nullable or (not self.public and series.isna().any()))
        return self

    def blocks(self) -> list[Block]:
        return [Block(f"{self.prefix}.code", "discrete", 2 + int(self.has_null))]

    def transform(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        values = series.astype(object)
        missing = values.isna().to_numpy()
        truth = np.array(
            [bool(v) if not m else False for v, m in zip(values, missing, strict=True)]
        )
        codes = np.where(missing, 2, truth.astype(int))
        return codes.astype(float).reshape(-1, 1)

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        codes = np.clip(encoded[:, 0].astype(int), 0, 1 + int(self.has_null))
        table = np.array([False, True, None], dtype=object)
        values = pd.Series(table[codes], dtype=object)
        if (codes == 2).any() and self.spec.dtype == "bool":
            return values
        return restore_dtype(values, self.spec.dtype)
