"""Check real, synthetic and holdout tables against each other, and encode them for the metrics.

Example:
    >>> import pandas as pd
    >>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    >>> t = prepare(real, real.copy())
    >>> t.numeric, t.categorical
    (['x'], ['c'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from umbra.exceptions import InputError
from umbra.metadata.detect import check_frame
from umbra.metadata.spec import ColumnSpec, Metadata

MAX_LEVELS = 100
MISSING = "<missing>"


@dataclass
class Tables:
    """The three tables, their metadata, and the columns the metrics compare."""

    meta: Metadata
    train: pd.DataFrame
    synthetic: pd.DataFrame
    holdout: pd.DataFrame | None
    numeric: list[Any]
    categorical: list[Any]

    @property
    def columns(self) -> list[Any]:
        """Compared columns in table order (identifiers and personal data aside)."""
        chosen = set(map(repr, self.numeric + self.categorical))
        return [n for n in self.meta.names if repr(n) in chosen]

    def numbers(self, frame: pd.DataFrame, name: Any) -> np.ndarray:
        """A numerical or datetime column as floats (datetimes in seconds), NaN for missing."""
        return as_numbers(self.meta[name], frame[name])


def as_numbers(spec: ColumnSpec, series: pd.Series) -> np.ndarray:
    """Floats for a numerical or datetime column; ±inf become NaN."""
    if spec.kind == "datetime":
        from umbra.transforms.numeric import DatetimeEncoder

        values = DatetimeEncoder(spec, "x").values_of(series)
    else:
        values = pd.to_numeric(series.astype(object), errors="coerce").to_numpy(dtype=float)
    values[~np.isfinite(values)] = np.nan
    return values


def labels(series: pd.Series) -> pd.Series:
    """Categories as text with missing values as their own label."""
    return series.astype(object).where(series.notna(), MISSING).astype(str)


def prepare(
    real: Any, synthetic: Any, metadata: Metadata | None = None, holdout: Any = None
) -> Tables:
    """Validate the tables and group the compared columns by kind."""
    for name, frame in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
        if frame is None and name == "holdout":
            continue
        try:
            check_frame(frame)
        except InputError as exc:
            raise InputError(f"the {name} table: {exc}") from None
        if len(frame) == 0:
            raise InputError(f"the {name} table has no rows; nothing to compare.")
    meta = metadata if metadata is not None else Metadata.detect(real, warn=False)
    meta.validate(real)
    same_columns(meta.names, synthetic, "synthetic")
    if holdout is not None:
        same_columns(meta.names, holdout, "holdout")
    numeric = [s.name for s in meta if s.kind in ("numerical", "datetime")]
    categorical = [s.name for s in meta if s.kind in ("categorical", "boolean")]
    for spec in meta:
        if spec.kind in ("numerical", "datetime"):
            for name, frame in (("synthetic", synthetic), ("holdout", holdout)):
                if frame is not None:
                    _numbers_or_error(spec, frame[spec.name], name)
    return Tables(meta, real, synthetic, holdout, numeric, categorical)


def same_columns(names: list[Any], frame: pd.DataFrame, name: str) -> None:
    """Raise :class:`InputError` unless ``frame`` has exactly the columns ``names``.

    Example:
        >>> same_columns(["a"], pd.DataFrame({"a": [1], "b": [2]}), "holdout")
        Traceback (most recent call last):
        ...
        umbra.exceptions.InputError: the holdout table does not have the real table's columns: extra ['b']. Compare tables with the same columns.
    """  # noqa: E501
    labels_ = list(frame.columns)
    missing = [c for c in names if c not in labels_]
    extra = [c for c in labels_ if c not in names]
    parts = [f"missing {missing}"] * bool(missing) + [f"extra {extra}"] * bool(extra)
    if parts:
        raise InputError(
            f"the {name} table does not have the real table's columns: {', '.join(parts)}. "
            "Compare tables with the same columns."
        )


def _numbers_or_error(spec: ColumnSpec, series: pd.Series, name: str) -> None:
    values = as_numbers(spec, series)
    bad = series[np.isnan(values) & series.notna().to_numpy()]
    bad = bad[~bad.astype(str).isin(["inf", "-inf"])]
    if len(bad):
        raise InputError(
            f"column {spec.name!r}: the {name} table holds {len(bad)} value(s) that are not "
            f"{'dates' if spec.kind == 'datetime' else 'numbers'}, e.g. "
            f"{bad.unique()[:3].tolist()}, where the real column is {spec.kind}. Fix the "
            f"{name} table or the metadata."
        )


class Features:
    """Model features learned on the real table: numbers as floats, categories as codes.

    Unseen categories become NaN. ``categorical_mask`` marks code columns (for gradient boosting).
    """

    def __init__(self, tables: Tables, columns: list[Any]) -> None:
        self.tables = tables
        # a number missing in every real row tells a model nothing (and breaks boosting)
        self.columns = [
            c
            for c in columns
            if c in tables.categorical or not np.isnan(tables.numbers(tables.train, c)).all()
        ]
        self.codes: dict[str, dict[str, int]] = {}
        for name in columns:
            if name in tables.categorical:
                counts = labels(tables.train[name]).value_counts()
                self.codes[repr(name)] = {v: i for i, v in enumerate(counts.index[:250])}

    @property
    def categorical_mask(self) -> np.ndarray:
        """True for columns holding category codes."""
        return np.array([repr(c) in self.codes for c in self.columns], dtype=bool)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The feature matrix of ``frame``."""
        out = np.empty((len(frame), len(self.columns)))
        for j, name in enumerate(self.columns):
            codes = self.codes.get(repr(name))
            if codes is None:
                out[:, j] = self.tables.numbers(frame, name)
            else:
                out[:, j] = labels(frame[name]).map(codes).astype(float).to_numpy()
        return out


class DistanceSpace:
    """Rows as points: standardised numbers (missing at 0 plus a flag) and one-hot categories.

    Categories are one-hot over the real table's most frequent levels and scaled by 1/sqrt(2),
    so that one differing category adds 1 to the squared distance, like one standard deviation.
    """

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.scale: dict[str, tuple[float, float]] = {}
        self.levels: dict[str, list[str]] = {}
        for name in tables.numeric:
            values = tables.numbers(tables.train, name)
            finite = values[np.isfinite(values)]
            mean = float(finite.mean()) if len(finite) else 0.0
            std = float(finite.std()) if len(finite) else 1.0
            self.scale[repr(name)] = (mean, std if std > 0 else 1.0)
        for name in tables.categorical:
            counts = labels(tables.train[name]).value_counts()
            self.levels[repr(name)] = list(counts.index[:MAX_LEVELS])

    def points(self, frame: pd.DataFrame) -> np.ndarray:
        """The points of ``frame`` (float32)."""
        parts = []
        for name in self.tables.numeric:
            mean, std = self.scale[repr(name)]
            z = (self.tables.numbers(frame, name) - mean) / std
            missing = np.isnan(z)
            parts += [np.where(missing, 0.0, z)[:, None], missing[:, None].astype(float)]
        for name in self.tables.categorical:
            levels = self.levels[repr(name)]
            index = labels(frame[name]).map({v: i for i, v in enumerate(levels)})
            onehot = np.zeros((len(frame), len(levels)))
            known = index.notna().to_numpy()
            onehot[np.flatnonzero(known), index[known].astype(int)] = 1 / math.sqrt(2)
            parts.append(onehot)
        return np.hstack(parts).astype(np.float32) if parts else np.zeros((len(frame), 0))


def nearest(reference: np.ndarray, query: np.ndarray, k: int = 1) -> np.ndarray:
    """Euclidean distances from each query row to its ``k`` nearest reference rows."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(reference))
    model = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(reference)
    distances, _ = model.kneighbors(query)
    return distances
