"""A sequence table as two tables: one row per entity (its context) and one row per event.

The entity table holds the context columns and ``START``, the index of the entity's first
event; the event table holds the event columns and ``GAP``, the index step from the previous
event of the same entity (missing for the first event). Joining them back gives each entity
its events in order: index = start + the running sum of the gaps.

Example:
    >>> from umbra.metadata import Metadata
    >>> log = pd.DataFrame({"case": ["b", "a", "b"], "t": [5, 1, 2], "act": ["y", "x", "x"]})
    >>> meta = Metadata.detect(log, warn=False).set_sequence("case", "t")
    >>> parts = split_log(log, meta)
    >>> parts.entities[START].tolist(), parts.events[GAP].tolist(), parts.lengths.tolist()
    ([2, 1], [nan, 3.0, nan], [2, 1])
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from umbra.exceptions import InputError
from umbra.metadata.sequence import SequenceSpec
from umbra.metadata.spec import ColumnSpec, Metadata
from umbra.transforms.numeric import DatetimeEncoder

START = "__start__"
GAP = "__gap__"


@dataclass
class LogParts:
    """The entity table, the event table (entities' events in order) and each entity's length."""

    entities: pd.DataFrame
    events: pd.DataFrame
    lengths: np.ndarray


def sequence_of(meta: Metadata) -> SequenceSpec:
    """The metadata's sequence roles, or an :class:`InputError` saying how to declare them."""
    if meta.sequence is None:
        raise InputError(
            "the 'sequence' model needs a sequence table: the metadata names no sequence key. "
            "Declare one with metadata.set_sequence(key, index) (CLI: --sequence-key KEY "
            "--sequence-index TIME), or read an event log whose columns follow the XES names."
        )
    return meta.sequence


def index_seconds(series: pd.Series, spec: ColumnSpec) -> np.ndarray:
    """The index as numbers: seconds since the epoch for dates, else the values."""
    if spec.kind == "datetime":
        return DatetimeEncoder(spec, "i").values_of(series)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def check_log(data: pd.DataFrame, meta: Metadata) -> None:
    """Raise :class:`InputError` for a key or index that cannot order the events."""
    seq = sequence_of(meta)
    missing = int(data[seq.key].isna().sum())
    if missing:
        raise InputError(
            f"the sequence key {seq.key!r} is missing in {missing:,} row(s): every event needs "
            "its entity. Drop those rows or fill the key."
        )
    if seq.index is None:
        return
    spec = meta[seq.index]
    if spec.kind not in ("datetime", "numerical"):
        raise InputError(
            f"the sequence index {seq.index!r} could not be read as timestamps or numbers (it "
            f"is {spec.kind}: mixed timezones, or a date format Umbra does not recognise). "
            "Convert it first, e.g. df[col] = pd.to_datetime(df[col], utc=True, format=...), or "
            "set another index with metadata.set_sequence."
        )
    bad = int(np.isnan(index_seconds(data[seq.index], spec)).sum())
    if bad:
        raise InputError(
            f"the sequence index {seq.index!r} is missing or unreadable in {bad:,} row(s); "
            "each event needs its time (or position). Drop or fill those rows."
        )


def split_log(data: pd.DataFrame, meta: Metadata) -> LogParts:
    """Sort each entity's events (stably, by the index) and split off the context."""
    check_log(data, meta)
    seq = sequence_of(meta)
    codes = pd.factorize(data[seq.key])[0]
    if seq.index is None:
        order = np.argsort(codes, kind="stable")
        when = None
    else:
        when = index_seconds(data[seq.index], meta[seq.index])
        order = np.lexsort((when, codes))
    rows = data.iloc[order].reset_index(drop=True)
    lengths = np.bincount(codes)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    _check_context(rows, seq, starts, lengths)
    entities = rows.iloc[starts][list(seq.context)].reset_index(drop=True)
    events = rows[event_columns(meta)].reset_index(drop=True)
    if when is not None:
        entities[START] = rows[seq.index].iloc[starts].to_numpy()
        gaps = np.diff(when[order], prepend=np.nan)
        gaps[starts] = np.nan
        events[GAP] = gaps
    return LogParts(entities, events, lengths)


def event_columns(meta: Metadata) -> list[object]:
    """The columns that change from event to event (neither key, index nor context)."""
    seq = sequence_of(meta)
    taken = {seq.key, seq.index, *seq.context}
    return [c for c in meta.names if c not in taken]


def _check_context(
    rows: pd.DataFrame, seq: SequenceSpec, starts: np.ndarray, lengths: np.ndarray
) -> None:
    for column in seq.context:
        first = rows[column].iloc[starts].repeat(lengths).reset_index(drop=True)
        same = (first == rows[column]) | (first.isna() & rows[column].isna())
        if not bool(same.all()):
            entities = rows.loc[~same, seq.key].nunique()
            raise InputError(
                f"context column {column!r} changes within {plural(entities, 'entity')}, but a "
                "context column must hold one value per entity. Remove it from the context "
                "(metadata.set_sequence(..., context=[...])) to model it as an event column."
            )


def plural(count: int, noun: str) -> str:
    """``"1 entity"``, ``"3 entities"``.

    Example:
        >>> plural(1, "entity"), plural(2, "entity"), plural(2, "row")
        ('1 entity', '2 entities', '2 rows')
    """
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {noun[:-1]}ies" if noun.endswith("y") else f"{count:,} {noun}s"


def part_metadata(meta: Metadata, parts: LogParts) -> tuple[Metadata, Metadata]:
    """Metadata of the entity and event tables: the user's specs, plus START and GAP."""
    seq = sequence_of(meta)
    entity_specs = [meta[c] for c in seq.context]
    event_specs = [meta[c] for c in event_columns(meta)]
    if seq.index is not None:
        entity_specs.append(replace(meta[seq.index], name=START))
        gap = Metadata.detect(parts.events[[GAP]], warn=False)[GAP]
        bounds = gap.bounds if gap.bounds is not None else (0.0, 0.0)
        event_specs.append(replace(gap, nullable=True, bounds=(max(0.0, bounds[0]), bounds[1])))
    return Metadata(entity_specs), Metadata(event_specs)
