"""Conditional sampling: fixed values and ranges, checked against the metadata before sampling.

Categories are passed to the model (neural models set their conditional vector to them), and
every condition is enforced by rejection within a bounded effort, so the result has exactly the
rows asked for or a :class:`~umbra.exceptions.ConditionError` says which condition has no support.

Example:
    >>> parse_value("30..40")
    (30.0, 40.0)
    >>> parse_value("2021-01-01..2021-06-30")
    ('2021-01-01', '2021-06-30')
    >>> parse_value("Female")
    'Female'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from umbra._random import spawn
from umbra.exceptions import ConditionError
from umbra.transforms.numeric import DatetimeEncoder

if TYPE_CHECKING:
    from umbra.synthesizers.base import Synthesizer

EFFORT = 200  # draw at most this many rows per requested row ...
MIN_EFFORT = 100_000  # ... and at least this many in all
MAX_BATCH = 200_000


@dataclass(frozen=True)
class Condition:
    """One column's condition: ``value`` (equality) or ``low``/``high`` (inclusive range)."""

    column: str
    value: Any = None
    low: Any = None
    high: Any = None
    is_range: bool = False
    block: int | None = None
    code: int | None = None
    convert: Callable[[pd.Series], pd.Series] | None = field(default=None, compare=False)

    def describe(self) -> str:
        """The condition as the user would write it."""
        if self.is_range:
            return f"{self.column}={self.low}..{self.high}"
        return f"{self.column}={self.value}"

    def matches(self, series: pd.Series) -> np.ndarray:
        """Which values satisfy the condition."""
        if self.convert is not None:
            series = self.convert(series)
        if self.is_range:
            values = series.astype(object)
            keep = series.notna().to_numpy()
            out = np.zeros(len(series), dtype=bool)
            out[keep] = [(self.low <= v <= self.high) for v in values[keep]]
            return out
        if self.value is None:
            return series.isna().to_numpy()
        return (series.astype(object) == self.value).fillna(False).to_numpy(dtype=bool)


def parse_value(text: str) -> Any:
    """A CLI value: ``LOW..HIGH`` becomes a range when both ends are numbers or dates."""
    if ".." in text:
        low, _, high = text.partition("..")
        for kind in (float, pd.Timestamp):
            try:
                kind(low), kind(high)
            except ValueError:
                continue
            return (float(low), float(high)) if kind is float else (low, high)
    return text


def parse_conditions(synth: Synthesizer, conditions: Any) -> list[Condition]:
    """Check ``conditions`` against the fitted model's metadata; raise one clear error."""
    if not isinstance(conditions, Mapping):
        raise ConditionError(
            f"conditions must be a mapping of column to value, e.g. {{'sex': 'Female'}}; "
            f"received {type(conditions).__name__}"
        )
    meta = synth.metadata_
    out = []
    for column, value in conditions.items():
        if column not in meta.names:
            raise ConditionError(
                f"cannot condition on {column!r}: no such column; the columns are {meta.names}"
            )
        out.append(_condition(synth, str(column), value))
    return out


def _condition(synth: Synthesizer, column: str, value: Any) -> Condition:
    spec = synth.metadata_[column]
    if spec.kind in ("id", "pii"):
        raise ConditionError(
            f"cannot condition on {column!r}: it is {'an' if spec.kind == 'id' else 'a'} "
            f"{spec.kind} column, replaced by fake "
            "values that the model does not learn"
        )
    if spec.kind in ("categorical", "boolean"):
        return _category(synth, column, value)
    encoder = next(e for e in synth.transformer_.encoders_ if e.spec.name == column)
    convert = encoder.utc if isinstance(encoder, DatetimeEncoder) else None
    if isinstance(value, tuple | list) and len(value) == 2:
        low, high = (_number(spec, v) for v in value)
        if low > high:
            raise ConditionError(f"condition on {column!r}: the range {low}..{high} is empty")
        condition = Condition(column, low=low, high=high, is_range=True, convert=convert)
        return _within_bounds(synth, condition)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if 1 not in getattr(encoder, "statuses", [1]):  # 1: the null status
            raise ConditionError(
                f"cannot condition on {column}=null: {column!r} has no missing values in the "
                "training data, so the model never generates one"
            )
        return Condition(column, value=None)
    number = _number(spec, value)
    if spec.kind == "numerical" and spec.integer and not float(number).is_integer():
        raise ConditionError(
            f"cannot condition on {column}={value!r}: {column!r} holds whole numbers only; "
            f"use a range such as {column}={math.floor(number)}..{math.ceil(number)}"
        )
    condition = Condition(column, value=number, low=number, high=number, convert=convert)
    return _within_bounds(synth, condition)


def _within_bounds(synth: Synthesizer, condition: Condition) -> Condition:
    """Refuse at once a numeric condition that lies wholly outside the column's bounds."""
    encoder = next(e for e in synth.transformer_.encoders_ if e.spec.name == condition.column)
    bounds = getattr(encoder, "bounds", None)
    if bounds is None:
        raise ConditionError(
            f"cannot condition on {condition.describe()}: {condition.column!r} has no values in "
            "the training data (it is always missing)"
        )
    if encoder.spec.kind != "numerical":
        return condition
    if condition.high < bounds[0] or condition.low > bounds[1]:
        raise ConditionError(
            f"cannot condition on {condition.describe()}: it lies outside the bounds of "
            f"{condition.column!r}, [{bounds[0]:g}, {bounds[1]:g}]"
        )
    return condition


def _number(spec: Any, value: Any) -> Any:
    """A number, or a date as a naive UTC timestamp (naive input is in the column's zone)."""
    try:
        if spec.kind != "datetime":
            return float(value)
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is None and spec.timezone is not None:
            stamp = stamp.tz_localize(spec.timezone)
        return stamp if stamp.tzinfo is None else stamp.tz_convert("UTC").tz_localize(None)
    except (TypeError, ValueError):
        what = "a date" if spec.kind == "datetime" else "a number"
        raise ConditionError(
            f"condition on {spec.name!r}: expected {what} or a range LOW..HIGH, received {value!r}"
        ) from None


def _category(synth: Synthesizer, column: str, value: Any) -> Condition:
    start = 0
    for encoder in synth.transformer_.encoders_:
        if encoder.spec.name == column:
            break
        start += len(encoder.blocks())
    categories = list(getattr(encoder, "categories", [False, True]))
    labels = [*categories, None] if getattr(encoder, "has_null", False) else categories
    for code, category in enumerate(labels):
        if _same(category, value):
            return Condition(column, value=category, block=start, code=code)
    raise ConditionError(
        f"cannot condition on {column}={value!r}: the model never saw that value; "
        f"the values of {column!r} are {labels[:20]}" + (" …" if len(labels) > 20 else "")
    )


def _same(category: Any, value: Any) -> bool:
    if category is None:
        return value is None or (isinstance(value, str) and value.lower() in ("", "null", "none"))
    if value is None:
        return False
    if isinstance(category, bool):
        text = str(value).strip().lower()
        return text in (("true", "1", "yes") if category else ("false", "0", "no"))
    return bool(category == value) or str(category) == str(value)


def sample_conditioned(
    synth: Synthesizer, n: int, conditions: list[Condition], rng: np.random.Generator
) -> pd.DataFrame:
    """Exactly ``n`` rows that satisfy every condition, or a :class:`ConditionError`."""
    fixed = {c.block: c.code for c in conditions if c.block is not None and c.code is not None}
    kept: list[pd.DataFrame] = []
    have, drawn, size = 0, 0, max(n, 1000)
    budget = max(MIN_EFFORT, EFFORT * n)
    while have < n and drawn < budget:
        size = min(size, budget - drawn)
        encoded = synth._sample_fixed(size, rng, fixed)
        frame = synth.transformer_.inverse_transform(encoded, random_state=spawn(rng))
        mask = np.ones(len(frame), dtype=bool)
        for condition in conditions:
            mask &= condition.matches(frame[condition.column])
        kept.append(frame[mask])
        have, drawn = have + int(mask.sum()), drawn + size
        rate = max(have / drawn, 1.0 / drawn)
        size = int(min(MAX_BATCH, max(1000, 1.2 * (n - have) / rate)))
    if have < n:
        described = ", ".join(c.describe() for c in conditions)
        raise ConditionError(
            f"only {have:,} of {drawn:,} generated rows satisfy {described} ({n:,} asked for): "
            "the model gives these values almost no support. Widen the range, pick a value "
            "seen in the data, or drop a condition."
        )
    return pd.concat(kept, ignore_index=True).head(n).reset_index(drop=True)
