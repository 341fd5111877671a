"""Metadata of per-entity sequences: which column names the entity, which orders its events.

A table of sequences (an event log, visits, transactions) has one row per event: a *sequence
key* (the entity or case id), a *sequence index* (a timestamp or a position) and, optionally,
an *activity* column (what happened). *Context* columns are constant within each entity (a
patient's birth year, a loan's requested amount); the other columns are event columns.

:func:`detect_sequence` recognises the event-log conventions (XES names such as
``case:concept:name``, ``concept:name``, ``time:timestamp``, and CSV names such as ``case_id``,
``activity``, ``timestamp``); a user sets or corrects them with
:meth:`~umbra.metadata.spec.Metadata.set_sequence`.

Example:
    >>> import pandas as pd
    >>> log = pd.DataFrame({
    ...     "case_id": [c for c in "abcdefghij" for _ in (0, 1)],
    ...     "activity": ["start", "end"] * 10,
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"] * 10),
    ...     "region": ["north", "north", "south", "south"] * 5})
    >>> detect_sequence(log)
    SequenceSpec(key='case_id', index='timestamp', activity='activity', context=['region'])
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from umbra.exceptions import MetadataError

KEY_NAMES = ("case:concept:name", "caseid", "case", "casename", "traceid", "sequenceid")
INDEX_NAMES = ("time:timestamp", "timestamp", "completetimestamp", "eventtime", "time")
ACTIVITY_NAMES = ("concept:name", "activity", "activityname", "eventname", "event")
CONTEXT_PREFIX = "case:"
MIN_ENTITIES = 10


@dataclass
class SequenceSpec:
    """The roles of a sequence table's columns (see the module docstring)."""

    key: Hashable
    index: Hashable | None = None
    activity: Hashable | None = None
    context: list[Any] = field(default_factory=list)

    def problems(self, names: Sequence[Hashable]) -> list[str]:
        """Every role naming a column the table does not have, or two roles on one column."""
        out = []
        for role, column in self.roles():
            if column not in names:
                out.append(
                    f"sequence {role} {column!r} is not a column; the columns are {list(names)}"
                )
        used = [column for _, column in self.roles()]
        for column in dict.fromkeys(used):
            if used.count(column) > 1:
                out.append(f"column {column!r} has more than one sequence role; give it one")
        return out

    def roles(self) -> list[tuple[str, Hashable]]:
        """(role, column) pairs, the context columns last."""
        pairs: list[tuple[str, Hashable]] = [("key", self.key)]
        pairs += [("index", self.index)] if self.index is not None else []
        pairs += [("activity", self.activity)] if self.activity is not None else []
        return pairs + [("context column", c) for c in self.context]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "key": self.key,
            "index": self.index,
            "activity": self.activity,
            "context": list(self.context),
        }

    @classmethod
    def from_dict(cls, raw: Any, origin: str) -> SequenceSpec:
        """Rebuild from :meth:`to_dict`; a damaged entry is a :class:`MetadataError`."""
        if (
            not isinstance(raw, dict)
            or "key" not in raw
            or not isinstance(raw.get("context"), list)
        ):
            raise MetadataError([f"{origin}: the sequence entry {raw!r} needs 'key' and 'context'"])
        unknown = sorted(set(raw) - {"key", "index", "activity", "context"})
        if unknown:
            raise MetadataError([f"{origin}: the sequence entry has unknown field(s) {unknown}"])
        return cls(raw["key"], raw.get("index"), raw.get("activity"), list(raw["context"]))


def _normal(name: Hashable) -> str:
    """A column name without case, spaces, dashes or underscores (``"Case ID"`` -> ``caseid``)."""
    text = str(name).lower()
    return text if ":" in text else re.sub(r"[\s_\-]+", "", text)


def _find(columns: Sequence[Hashable], names: tuple[str, ...]) -> Hashable | None:
    normal = {_normal(c): c for c in columns}
    return next((normal[n] for n in names if n in normal), None)


def guess_activity(columns: Sequence[Hashable], key: Hashable, index: Hashable | None) -> Any:
    """The column named like an activity (``concept:name``, ``activity``, ...), if any."""
    return _find([c for c in columns if c not in (key, index)], ACTIVITY_NAMES)


def detect_sequence(data: pd.DataFrame) -> SequenceSpec | None:
    """The sequence roles of an event log by its column names, or None for a plain table.

    ``case:concept:name`` (XES) is always a key; a generic name (``case_id``) only with a time
    column, ten or more distinct values and an entity of several rows. Context columns are
    those prefixed ``case:``, else those constant within every entity.
    """
    key = _find(list(data.columns), KEY_NAMES)
    if key is None or data[key].isna().all():
        return None
    index = _find([c for c in data.columns if c != key], INDEX_NAMES)
    if str(key) != KEY_NAMES[0] and not _looks_like_entities(data[key], index):
        return None  # a 0/1 "case" column of a case-control study is not a sequence key
    spec = SequenceSpec(key, index, guess_activity(list(data.columns), key, index))
    spec.context = constant_columns(data, spec)
    return spec


def _looks_like_entities(key: pd.Series, index: Hashable | None) -> bool:
    """A generic name (``case``, ``case_id``) names entities only with a time column, at least
    ``MIN_ENTITIES`` distinct values and some entity of more than one row."""
    counts = key.value_counts()
    return index is not None and len(counts) >= MIN_ENTITIES and int(counts.max()) >= 2


def constant_columns(data: pd.DataFrame, spec: SequenceSpec) -> list[Any]:
    """Columns (other than the roles) that hold one value per entity, in table order.

    In a log with ``case:`` columns (a flattened XES log) those are the context, and an event
    attribute that happens to be constant stays an event attribute. A column constant only
    because every entity has one event is not context either.
    """
    taken = {spec.key, spec.index, spec.activity}
    rest = [c for c in data.columns if c not in taken]
    prefixed = [c for c in rest if str(c).startswith(CONTEXT_PREFIX)]
    groups = data.groupby(data[spec.key], sort=False, dropna=True)
    if prefixed or not rest or groups.size().max() < 2:
        return prefixed  # a flattened XES log says which attributes are the trace's
    varying = groups[rest].nunique(dropna=False).max() > 1
    return [c for c in rest if c in prefixed or not bool(varying[c])]
