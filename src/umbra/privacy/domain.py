"""Private preprocessing: bounds, category sets and null presence learned under DP.

What a marginal model must know before it counts anything (each number's range, each column's
categories, whether it has missing values) is learned here with an explicit share of the budget
when the metadata does not declare it:

* **Bounds and nulls of a number**: Gaussian-noised counts on a *public* grid (zero, and
  ``+-2^(k/4)`` from about 1e-3 to 1e12, one more cell for missing values). Each record falls in
  one cell, so the counts have L2 sensitivity 1 and are ``rho``-zCDP whatever the data; the
  range is the span of the outermost cells whose noisy count clears ``THRESHOLD`` standard
  deviations (post-processing), so tails thinner than that are clipped; the null cell says
  whether the column has nulls. Infinities are
  removed before counting, on the same code path whether or not there are any.
* **Nulls of a boolean**: a noisy null count, kept above ``THRESHOLD`` deviations.
* **Categories (and nulls) of a categorical column**: noisy counts of the values that occur,
  kept above ``1 + sigma * z(1 - delta)``; a value held by one record is released with
  probability at most ``delta``, which is added to the guarantee (Gaussian partition
  selection). Values not released are replaced by a random released one, row by row.

Example:
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([np.zeros(3000), rng.uniform(1, 5000, 2000), [np.inf, np.nan]])
    >>> low, high, nulls = private_bounds(x, rho=0.5, rng=rng)
    >>> float(low), 4000 < high < 7000, nulls
    (0.0, True, False)
    >>> cats, nulls = private_categories(pd.Series(["a"] * 900 + ["b"] * 600 + ["rare"]),
    ...                                  rho=0.5, delta=1e-9, rng=rng)
    >>> cats, nulls
    (['a', 'b'], False)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from umbra.exceptions import InputError
from umbra.metadata.spec import Metadata
from umbra.privacy.accounting import gaussian_sigma

THRESHOLD = 4.0  # noisy-count standard deviations a grid cell needs to count as occupied
# (an empty cell passes with probability 3e-5, so a bogus far-away bound is rare)
_STEPS = np.arange(-40, 161)  # 2^(-10) .. 2^40
GRID = np.concatenate([-(2.0 ** (_STEPS[::-1] / 4)), [0.0], 2.0 ** (_STEPS / 4)])


def grid_cells(values: np.ndarray) -> np.ndarray:
    """Cell index of each finite value on the public grid (exact zero has its own cell).

    Cells are ``(GRID[i-1], GRID[i]]`` below zero, ``{0}``, and ``[GRID[i], GRID[i+1])``
    above; values beyond the grid fall in its outermost cells.
    """
    zero = len(_STEPS)
    positive = np.searchsorted(GRID, values, side="right") - 1
    negative = np.searchsorted(GRID, values, side="left")
    cells = np.where(values > 0, positive, np.where(values < 0, negative, zero))
    return np.clip(cells, 0, len(GRID) - 1)


def private_bounds(
    values: np.ndarray, rho: float, rng: np.random.Generator
) -> tuple[float, float, bool]:
    """(low, high, has_nulls) of a number under ``rho``-zCDP; infinities are dropped first."""
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    finite = values[np.isfinite(values)]  # the same path whether or not infinities occur
    counts = np.bincount(grid_cells(finite), minlength=len(GRID)).astype(float)
    counts = np.append(counts, float(missing.sum()))
    sigma = gaussian_sigma(rho)
    noisy = counts + rng.normal(0.0, sigma, counts.shape)
    occupied = np.flatnonzero(noisy[:-1] > THRESHOLD * sigma)
    has_nulls = bool(noisy[-1] > THRESHOLD * sigma)
    if not len(occupied):
        return 0.0, 0.0, has_nulls
    return _cell_low(int(occupied[0])), _cell_high(int(occupied[-1])), has_nulls


def _cell_low(cell: int) -> float:
    zero = len(_STEPS)
    return float(GRID[cell - 1]) if cell < zero and cell > 0 else float(GRID[cell])


def _cell_high(cell: int) -> float:
    zero = len(_STEPS)
    return float(GRID[cell + 1]) if cell > zero and cell + 1 < len(GRID) else float(GRID[cell])


def private_nulls(values: pd.Series, rho: float, rng: np.random.Generator) -> bool:
    """Whether a column of a public domain has nulls, from a noisy null count (``rho``-zCDP).

    Example:
        >>> private_nulls(pd.Series([True, None] * 500), 0.5, np.random.default_rng(0))
        True
    """
    sigma = gaussian_sigma(rho)
    return bool(float(values.isna().sum()) + rng.normal(0.0, sigma) > THRESHOLD * sigma)


def private_categories(
    values: pd.Series, rho: float, delta: float, rng: np.random.Generator
) -> tuple[list[Any], bool]:
    """(released categories, has_nulls) of a column under ``rho``-zCDP plus ``delta``."""
    sigma = gaussian_sigma(rho)
    counts = values.astype(object).value_counts(dropna=False)
    noisy = counts.to_numpy(dtype=float) + rng.normal(0.0, sigma, len(counts))
    cut = 1.0 + sigma * float(norm.isf(delta))
    kept = [v for v, c in zip(counts.index, noisy, strict=True) if c > cut]
    has_nulls = any(pd.isna(v) for v in kept)
    from umbra.metadata.detect import _sorted_categories

    return _sorted_categories([v for v in kept if not pd.isna(v)]), has_nulls


def replace_unreleased(
    values: pd.Series, categories: list[Any], nullable: bool, rng: np.random.Generator
) -> pd.Series:
    """``values`` with every value outside ``categories`` (and nulls, when not ``nullable``)
    replaced by a released category drawn uniformly at random, row by row."""
    keep = values.isin(categories) | (values.isna() if nullable else False)
    if keep.all() or not categories:
        return values
    out = values.astype(object).copy()
    picks = rng.integers(0, len(categories), int((~keep).sum()))
    out[~keep] = np.asarray(categories, dtype=object)[picks]
    return out


def needs_discovery(meta: Metadata) -> list[str]:
    """Columns whose domain is neither declared public nor learned under DP (by name).

    Raises :class:`InputError` for dates without declared bounds (their grid would be years
    wide).
    """
    free = ("public", "dp")
    source = {"numerical": "bounds_source", "categorical": "categories_source"}
    source["boolean"] = "nullable_source"  # (a boolean's domain is public but for nulls)
    out, dates = [], []
    for spec in meta:
        if spec.kind in source and getattr(spec, source[spec.kind]) not in free:
            out.append(str(spec.name))
        elif spec.kind == "datetime" and spec.bounds_source not in free:
            dates.append(repr(spec.name))
    if dates:
        raise InputError(
            f"date column(s) {', '.join(dates)} need declared bounds under differential privacy; "
            "declare them with metadata.update(column, bounds=(first, last))"
        )
    return out


def discover(
    data: pd.DataFrame,
    meta: Metadata,
    columns: list[str],
    budget: tuple[float, float],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Learn the domain of ``columns`` under DP (``budget``: rho and delta for all of them),
    write it into ``meta`` (source ``"dp"``) and return ``data`` made to fit it.

    Infinities in numbers become missing values everywhere (before any statistic); a column
    whose nulls are not released has its missing values replaced row by row.
    """
    rho, delta = budget
    names = {str(spec.name): spec.name for spec in meta}
    categorical = [c for c in columns if meta[names[c]].kind == "categorical"]
    out = data.copy()
    for spec in meta:
        if spec.kind == "numerical":
            values = pd.to_numeric(out[spec.name], errors="coerce").astype(float)
            out[spec.name] = values.where(np.isfinite(values) | values.isna(), np.nan)
    for column in columns:
        name = names[column]
        if meta[name].kind == "numerical":
            values = out[name].to_numpy(dtype=float)
            low, high, nulls = private_bounds(values, rho / len(columns), rng)
            if meta[name].integer:
                low, high = float(np.floor(low)), float(np.ceil(high))
            meta.update(
                name, bounds=(low, high), bounds_source="dp", nullable=nulls, nullable_source="dp"
            )
            values = np.where(np.isnan(values), np.nan, np.clip(values, low, high))
            out[name] = values
            if not nulls and np.isnan(values).any():
                fill = rng.uniform(low, high, int(np.isnan(values).sum()))
                values[np.isnan(values)] = np.round(fill) if meta[name].integer else fill
                out[name] = values
        elif meta[name].kind == "boolean":
            nulls = private_nulls(out[name], rho / len(columns), rng)
            meta.update(name, nullable=nulls, nullable_source="dp")
            if not nulls and out[name].isna().any():
                out[name] = replace_unreleased(out[name], [True, False], False, rng)
        else:
            share = delta / len(categorical)
            cats, nulls = private_categories(out[name], rho / len(columns), share, rng)
            if not cats:
                raise InputError(
                    f"column {column!r}: no category is frequent enough to be released at this "
                    "epsilon; declare its categories with metadata.update(column, categories=...)"
                )
            meta.update(
                name, categories=cats, categories_source="dp", nullable=nulls, nullable_source="dp"
            )
            out[name] = replace_unreleased(out[name], cats, nulls, rng)
    return out


def conform(data: pd.DataFrame, meta: Metadata, rng: np.random.Generator) -> pd.DataFrame:
    """``data`` made to fit the public domain of ``meta``, the same way whatever it holds.

    Infinities become missing; a missing value in a column the metadata does not declare
    nullable becomes a value drawn uniformly from the column's domain (bounds or categories);
    numbers are clipped to the bounds. No statistic of the data decides what is done, so the
    encoding's layout does not depend on any record.

    Example:
        >>> from umbra.metadata.spec import ColumnSpec
        >>> meta = Metadata([ColumnSpec("x", "numerical", "float64", bounds=(0, 10))])
        >>> table = pd.DataFrame({"x": [1.0, np.inf, 99.0]})
        >>> conform(table, meta, np.random.default_rng(0))["x"].tolist()[2]
        10.0
    """
    out = data.copy()
    for spec in meta:
        column = out[spec.name]
        if spec.kind == "numerical" and spec.bounds is not None:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            values[~np.isfinite(values)] = np.nan
            low, high = (float(b) for b in spec.bounds)
            values = np.where(np.isnan(values), np.nan, np.clip(values, low, high))
            missing = np.isnan(values)
            if not spec.nullable and missing.any():
                fill = rng.uniform(low, high, int(missing.sum()))
                values[missing] = np.round(fill) if spec.integer else fill
            out[spec.name] = values
        elif spec.kind == "categorical" and spec.categories:
            out[spec.name] = replace_unreleased(column, list(spec.categories), spec.nullable, rng)
        elif spec.kind == "boolean" and not spec.nullable and column.isna().any():
            out[spec.name] = replace_unreleased(column, [True, False], False, rng)
    return out
