"""Check a table against its metadata, gathering every problem instead of stopping at the first.

Example:
    >>> import pandas as pd
    >>> from umbra.metadata.spec import ColumnSpec, Metadata
    >>> meta = Metadata([ColumnSpec("age", "numerical", "int64", bounds=(0, 120),
    ...                             bounds_source="public")])
    >>> table_problems(meta, pd.DataFrame({"age": [30, 150]}))
    ["column 'age': 1 value(s) outside the declared bounds (0, 120), e.g. [150]; widen the bounds or clean the values"]
"""  # noqa: E501

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from umbra.metadata.spec import ColumnSpec, Metadata, parse_dates


def table_problems(meta: Metadata, data: Any) -> list[str]:
    """Every mismatch between ``data`` and ``meta``; empty when they fit."""
    if not isinstance(data, pd.DataFrame):
        return [f"expected a pandas DataFrame, received {type(data).__name__}"]
    problems: list[str] = []
    labels = list(data.columns)
    missing = [n for n in meta.names if n not in labels]
    extra = [c for c in labels if c not in meta.names]
    if missing:
        problems.append(f"columns {missing} are in the metadata but not in the table")
    if extra:
        problems.append(
            f"columns {extra} are in the table but not in the metadata; "
            "add them (Metadata.detect) or drop them from the table"
        )
    for spec in meta:
        if spec.name in labels:
            problems.extend(column_problems(spec, data[spec.name]))
    return problems


def column_problems(spec: ColumnSpec, series: pd.Series) -> list[str]:
    """Every way one column does not fit its spec."""
    where = f"column {spec.name!r}"
    out = []
    if not spec.nullable and series.isna().any():
        out.append(
            f"{where}: {int(series.isna().sum())} missing value(s) but the metadata says "
            "nullable=False; set nullable=True or fill them"
        )
    values = series.dropna()
    if spec.kind == "numerical":
        out.extend(_numeric_problems(where, spec, values))
    elif spec.kind == "categorical" and spec.categories is not None:
        known = set(map(_key, spec.categories))
        unknown = [v for v in values.unique() if _key(v) not in known]
        if unknown:
            out.append(
                f"{where}: {len(unknown)} value(s) not among the declared categories, "
                f"e.g. {unknown[:5]}; add them to the categories or clean the values"
            )
    elif spec.kind == "datetime":
        out.extend(_datetime_problems(where, spec, series))
    elif spec.kind == "boolean":
        odd = [v for v in values.unique()[:1000] if not isinstance(v, bool | np.bool_)]
        if odd:
            out.append(
                f"{where}: declared boolean but holds {odd[:5]}; declare it categorical or "
                "map the values to True/False"
            )
    return out + _dtype_problems(where, spec)


def _dtype_problems(where: str, spec: ColumnSpec) -> list[str]:
    try:
        pd.api.types.pandas_dtype(spec.dtype)
    except (TypeError, ValueError):
        return [f"{where}: dtype {spec.dtype!r} is not a pandas dtype; use e.g. 'int64', 'object'"]
    return []


def _key(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _numeric_problems(where: str, spec: ColumnSpec, values: pd.Series) -> list[str]:
    if not ptypes.is_numeric_dtype(values.dtype) or ptypes.is_bool_dtype(values.dtype):
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values[numbers.isna()].unique()[:5].tolist()
        if bad:
            return [
                f"{where}: declared numerical but holds non-numbers such as {bad}; declare it "
                "categorical or clean the values"
            ]
        values = numbers
    if spec.bounds is None:
        return []
    array = values.to_numpy(dtype=float)
    finite = array[np.isfinite(array)]
    low, high = spec.bounds
    outside = finite[(finite < low) | (finite > high)]
    if len(outside):
        shown = [v.item() for v in np.unique(outside)[:5]]
        shown = [int(v) if float(v).is_integer() else v for v in shown]
        return [
            f"{where}: {len(outside)} value(s) outside the declared bounds {tuple(spec.bounds)}, "
            f"e.g. {shown}; widen the bounds or clean the values"
        ]
    return []


def _datetime_problems(where: str, spec: ColumnSpec, series: pd.Series) -> list[str]:
    if ptypes.is_datetime64_any_dtype(series.dtype):
        return []
    fmt = spec.datetime_format
    if fmt is None:
        return [f"{where}: declared datetime but holds {series.dtype} values; give datetime_format"]
    values = series.dropna().astype(str)
    parsed = parse_dates(values, fmt)
    bad = values[parsed.isna()].unique()[:5].tolist()
    if bad:
        return [
            f"{where}: values {bad} do not match the date format {fmt!r}; fix them or the format"
        ]
    return []
