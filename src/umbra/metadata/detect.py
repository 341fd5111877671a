"""Detect column kinds, dtypes, nullability, bounds and categories from a DataFrame.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"when": ["03/01/2024", "25/12/2023"], "n": [1, 2]})
    >>> meta = detect_metadata(df, warn=False)
    >>> meta["when"].kind, meta["when"].datetime_format
    ('datetime', '%d/%m/%Y')
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from umbra.exceptions import DataWarning, InputError, PrivacyLeakWarning
from umbra.metadata.sequence import detect_sequence
from umbra.metadata.spec import ColumnSpec, Metadata, parse_dates

DATE_FORMATS = (
    "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y",
    "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y",
)  # fmt: skip
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")
PERSON = re.compile(r"^[A-Z][a-zA-Z'’-]+(?: [A-Z][a-zA-Z'’.-]*){1,3}$")
ID_NAME = re.compile(r"(^|[_\s.-])(id|uuid|guid|key|ssn|nbr)$|^id[_\s.-]|^(id|uuid|guid)$", re.I)
DATE_LIKE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")
NAME_HINT = re.compile(r"(^|_)(name|first_?name|last_?name|surname|full_?name)$", re.I)
MIN_ID_ROWS = 20
MIN_KEY_LEVELS = 100
DATE_SHARE = 0.95


def detect_metadata(data: pd.DataFrame, *, warn: bool = True) -> Metadata:
    """Detect a :class:`Metadata` for ``data``; warn about what was learned from the data."""
    check_frame(data)
    specs = [detect_column(name, data[name]) for name in data.columns]
    meta = Metadata(specs, detect_sequence(data))
    if meta.sequence is not None:
        as_identifier(meta, data)
    if warn:
        warn_learned(meta)
    return meta


def as_identifier(meta: Metadata, data: pd.DataFrame) -> None:
    """Make the sequence key an identifier: never modelled, its values never stored."""
    assert meta.sequence is not None
    spec = meta[meta.sequence.key]
    if spec.kind == "id":
        return
    values = data[spec.name].dropna()
    text = values.iloc[0] if len(values) and isinstance(values.iloc[0], str) else None
    spec.kind, spec.id_pattern = "id", _shape(text) if text is not None else "integer"
    spec.categories = spec.categories_source = spec.bounds = spec.bounds_source = None
    spec.pii_type, spec.integer, spec.decimals = None, False, None


def check_frame(data: Any) -> None:
    """Raise :class:`InputError` unless ``data`` is a DataFrame with usable, unique labels."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            f"expected a pandas DataFrame, received {type(data).__name__}; "
            "read files with umbra.read(path)."
        )
    if data.shape[1] == 0:
        raise InputError("the table has no columns; expected at least one.")
    labels = list(data.columns)
    repeated = sorted({repr(c) for c in labels if labels.count(c) > 1})
    if repeated:
        raise InputError(
            f"duplicate column names {', '.join(repeated)}; every column needs a unique name. "
            "Rename them, for example df.columns = [...]."
        )
    odd = [c for c in labels if not isinstance(c, str | int) or isinstance(c, bool)]
    if odd:
        raise InputError(
            f"column labels {odd!r} are neither text nor integers; rename them, for example "
            "df.columns = [str(c) for c in df.columns]."
        )


def warn_learned(meta: Metadata, stacklevel: int = 3) -> None:
    """Emit one :class:`PrivacyLeakWarning` naming everything learned from the data."""
    learned = meta.learned_from_data()
    if learned:
        shown = ", ".join(learned[:8]) + (
            f" and {len(learned) - 8} more" if len(learned) > 8 else ""
        )
        warnings.warn(
            f"{shown} were learned from the data: they reveal real extremes and rare values. "
            "Declare public ones with metadata.update(column, bounds=..., categories=...).",
            PrivacyLeakWarning,
            stacklevel=stacklevel,
        )


def detect_column(name: Hashable, series: pd.Series) -> ColumnSpec:
    """Detect one column's spec."""
    dtype = str(series.dtype)
    spec = ColumnSpec(
        name=name, kind="categorical", dtype=dtype, nullable=bool(series.isna().any())
    )
    values = series.dropna()
    if series.dtype == object:
        _uniques(name, values)  # refuses unhashable cells (lists, dicts) with a clear error
    if ptypes.is_bool_dtype(series.dtype) or (series.dtype == object and _all_bool(values)):
        spec.kind = "boolean"
    elif isinstance(series.dtype, pd.CategoricalDtype):
        spec.categories = [_py(c) for c in series.cat.categories]
        spec.categories_source = "data"
        spec.ordered = bool(series.cat.ordered)
    elif ptypes.is_datetime64_any_dtype(series.dtype):
        _fill_datetime(spec, series)
    elif ptypes.is_timedelta64_dtype(series.dtype):
        raise InputError(
            f"column {name!r} holds time spans ({dtype}), which Umbra does not model yet; "
            "convert it to a number, e.g. df[col].dt.total_seconds()."
        )
    elif ptypes.is_complex_dtype(series.dtype):
        raise InputError(
            f"column {name!r} holds complex numbers, which Umbra does not model; split it into "
            "real and imaginary columns (df[col].real, df[col].imag)."
        )
    elif ptypes.is_numeric_dtype(series.dtype):
        _fill_numeric(spec, values)
    else:
        _fill_object(spec, values)
    return spec


def _all_bool(values: pd.Series) -> bool:
    uniques = pd.unique(values)
    return 0 < len(uniques) <= 2 and all(isinstance(v, bool | np.bool_) for v in uniques)


def _fill_numeric(spec: ColumnSpec, values: pd.Series) -> None:
    array = values.to_numpy(dtype=float)
    finite = array[np.isfinite(array)]
    spec.kind = "numerical"
    spec.integer = bool(len(finite) and np.all(finite == np.round(finite)))
    if ptypes.is_integer_dtype(values.dtype):
        spec.integer = True
    if spec.integer and _looks_like_key(spec.name, values.nunique(), len(values)):
        spec.kind, spec.id_pattern = "id", "integer"
        return
    spec.decimals = 0 if spec.integer else _decimals(finite)
    if len(finite):
        low, high = finite.min(), finite.max()
        spec.bounds = (int(low), int(high)) if spec.integer else (float(low), float(high))
        spec.bounds_source = "data"


def _looks_like_key(name: Hashable, distinct: int, rows: int) -> bool:
    """An identifier by name with many distinct values (unique, or repeated per entity)."""
    if not ID_NAME.search(str(name)) or rows < MIN_ID_ROWS:
        return False
    return distinct == rows or (distinct > MIN_KEY_LEVELS and distinct >= 0.05 * rows)


def _decimals(finite: np.ndarray, limit: int = 8) -> int | None:
    sample = finite[:20_000]
    for d in range(limit + 1):
        scaled = sample * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return d
    return None


def _fill_datetime(spec: ColumnSpec, series: pd.Series) -> None:
    spec.kind = "datetime"
    tz = getattr(series.dtype, "tz", None)
    spec.timezone = str(tz) if tz is not None else None
    values = series.dropna()
    if len(values):
        spec.bounds = (values.min().isoformat(), values.max().isoformat())
        spec.bounds_source = "data"


def _fill_object(spec: ColumnSpec, values: pd.Series) -> None:
    """Text-like columns: dates as text, personal data, identifiers, or categories."""
    uniques = _uniques(spec.name, values)
    if not all(isinstance(v, str) for v in uniques):
        _mixed_types(spec, uniques)
        return
    text = values.astype(str)
    fmt = guess_date_format(uniques)
    if fmt is not None:
        _text_dates(spec, text, fmt)
        return
    pii = _pii_type(spec.name, text)
    if pii is not None:
        spec.kind, spec.pii_type = "pii", pii
        return
    if len(uniques) == len(text) >= MIN_ID_ROWS and _looks_like_code(text):
        spec.kind, spec.id_pattern = "id", _shape(text.iloc[0])
        return
    if _looks_like_key(spec.name, len(uniques), len(text)):
        spec.kind, spec.id_pattern = "id", _shape(text.iloc[0])
        return
    _numbers_in_text(spec, uniques)
    spec.categories = _sorted_categories(uniques)
    spec.categories_source = "data"


def _uniques(name: Hashable, values: pd.Series) -> pd.Series:
    try:
        return pd.Series(pd.unique(values), dtype=object)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in values if not isinstance(v, str | int | float)})
        raise InputError(
            f"column {name!r} holds {', '.join(kinds)} cells, which are not table values; "
            "flatten them into columns or convert them to text (df[col].astype(str))."
        ) from None


def _text_dates(spec: ColumnSpec, text: pd.Series, fmt: str) -> None:
    parsed = parse_dates(text, fmt)
    bad = text[parsed.isna()].unique()[:5].tolist()
    if bad:
        warnings.warn(
            f"column {spec.name!r} holds dates in the format {fmt!r} except {bad}; fitting will "
            "refuse those values. Fix or blank them, or set the column's kind to 'categorical'.",
            DataWarning,
            stacklevel=6,
        )
    spec.datetime_format = fmt
    _fill_datetime(spec, parsed)


def _mixed_types(spec: ColumnSpec, uniques: pd.Series) -> None:
    odd = sorted({type(v).__name__ for v in uniques if not isinstance(v, str | int | float)})
    zones = sorted({str(v.tzinfo) for v in uniques if isinstance(v, pd.Timestamp)})
    if odd == ["Timestamp"] and len(zones) > 1:
        raise InputError(
            f"column {spec.name!r} holds timestamps in {len(zones)} timezones ({', '.join(zones)}"
            "), so pandas keeps them as objects; convert them to one zone first, e.g. "
            "df[col] = pd.to_datetime(df[col], utc=True) (the instants stay the same)."
        )
    if odd:
        raise InputError(
            f"column {spec.name!r} holds {', '.join(odd)} values, which Umbra cannot restore "
            "exactly; convert the column to text (df[col].astype(str)) or to numbers first."
        )
    kinds = sorted({type(v).__name__ for v in uniques})
    warnings.warn(
        f"column {spec.name!r} mixes value types ({', '.join(kinds)}); it is treated as "
        "categorical and each value keeps its type. Convert it to one type if that is wrong.",
        DataWarning,
        stacklevel=5,
    )
    spec.categories = _sorted_categories(uniques)
    spec.categories_source = "data"


def _numbers_in_text(spec: ColumnSpec, uniques: pd.Series) -> None:
    numeric = pd.to_numeric(uniques, errors="coerce")
    share = float(numeric.notna().mean()) if len(uniques) else 0.0
    if 0.5 <= share < 1.0:
        odd = uniques[numeric.isna()].iloc[:5].tolist()
        warnings.warn(
            f"column {spec.name!r} holds numbers ({share:.0%} of its distinct values) mixed "
            f"with text such as {odd}; "
            "it is treated as categorical. If that text means 'missing', read the file with "
            "na_values=[...] (CLI: --na-values) so the column becomes numerical.",
            DataWarning,
            stacklevel=6,
        )


def guess_date_format(text: pd.Series) -> str | None:
    """The strftime format parsing every value of ``text`` (or at least 95% of them), or None.

    A format ending in ``%:z`` means offsets written with a colon (``+02:00``).

    Example:
        >>> guess_date_format(pd.Series(["2024-01-31", "2023-12-01"]))
        '%Y-%m-%d'
    """
    unique = pd.Series(text.unique(), dtype=object).astype(str)
    if len(unique) == 0 or not unique.str.contains(r"\d", regex=True).all():
        return None
    if unique.str.fullmatch(r"[+-]?\d+(\.\d+)?").all():
        return None
    probe = unique.iloc[:200]
    best, best_share = None, 0.0
    for fmt in DATE_FORMATS:
        if _parse_share(probe, fmt) < 0.5:
            continue
        share = _parse_share(unique, fmt)
        if share > best_share:
            best, best_share = fmt, share
        if share == 1.0:
            break
    if best is None or best_share < DATE_SHARE:
        return None
    _warn_ambiguous(unique, best)
    if best.endswith("%z") and unique.str.contains(r"[+-]\d{2}:\d{2}$", regex=True).any():
        return best[:-2] + "%:z"
    return best


def _parse_share(values: pd.Series, fmt: str) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(values, format=fmt, errors="coerce", utc="%z" in fmt)
    return float(parsed.notna().mean())


def _warn_ambiguous(unique: pd.Series, fmt: str) -> None:
    swapped = {"%m/%d/%Y": "%d/%m/%Y", "%m-%d-%Y": "%d-%m-%Y"}.get(fmt, "")
    if swapped and fmt.startswith("%m") and _parse_share(unique, swapped) == 1.0:
        warnings.warn(
            f"dates such as {unique.iloc[0]!r} read as month/day ({fmt!r}) but they also read "
            f"as day/month; if that is what they are, set datetime_format={swapped!r}.",
            DataWarning,
            stacklevel=7,
        )


def _pii_type(name: Hashable, text: pd.Series) -> str | None:
    sample = text.iloc[:5000]
    if len(sample) == 0:
        return None
    if sample.str.match(EMAIL).mean() >= 0.9:
        return "email"
    digits = sample.str.count(r"\d")
    phone = sample.str.match(PHONE) & (digits >= 7) & ~sample.str.match(DATE_LIKE)
    if phone.mean() >= 0.9 and sample.str.contains(r"[\s().+-]", regex=True).mean() >= 0.5:
        return "phone"
    unique_share = sample.nunique() / len(sample)
    if sample.str.match(PERSON).mean() >= 0.9 and unique_share >= 0.5:
        return "name"
    if NAME_HINT.search(str(name)) and unique_share >= 0.5:
        return "name"
    if sample.str.len().mean() >= 40 and sample.str.count(" ").mean() >= 5 and unique_share >= 0.5:
        return "text"
    return None


def _looks_like_code(text: pd.Series) -> bool:
    sample = text.iloc[:2000]
    return bool(
        sample.str.fullmatch(r"[A-Za-z0-9_-]{4,40}").all()
        and sample.str.contains(r"\d", regex=True).mean() >= 0.9
    )


def _shape(value: str) -> str:
    """Character shape of an identifier: digits -> d, lower -> a, upper -> A, others kept.

    Example:
        >>> _shape("AB-12x")
        'AA-dda'
    """
    return "".join(
        "d" if c.isdigit() else "A" if c.isupper() else "a" if c.isalpha() else c for c in value
    )


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _sorted_categories(values: Any) -> list[Any]:
    items = [_py(v) for v in values]
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=lambda v: (type(v).__name__, str(v)))
