"""Fidelity and privacy of synthetic sequences and event logs, in long format (one row per event).

A log has an entity (case) ``key`` column, an ``index`` column that orders events within an entity
(timestamps, naive or tz-aware, or numbers), an optional ``activity`` column and optional
``context`` columns (constant within an entity: the first row's value is taken). Each metric
returns :class:`~umbra.evaluation.result.Metric` records (distances: 0 is best; scores in
[0, 1]: 1 is best), so ``Evaluation(sequence_metrics(...))`` or ``ev.metrics.extend(...)`` plugs
them into a report.

Example:
    >>> log = pd.DataFrame({"case": [1, 1, 2, 2, 2], "t": [0, 1, 0, 1, 2], "a": list("abacb")})
    >>> metrics = sequence_metrics(log, log.copy(), key="case", index="t", activity="a")
    >>> found = {m.name: m.value for m in metrics}
    >>> found["activity_tvd"], found["directly_follows_similarity"], found["variant_coverage"]
    (0.0, 1.0, 1.0)
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from umbra.evaluation.prepare import labels
from umbra.evaluation.result import Metric
from umbra.exceptions import InputError

MAX_DCR_ENTITIES = 5_000
CLOSE_QUANTILE = 0.05
MAX_ONE_HOT = 50
MAX_ACTIVITIES = 200


@dataclass(frozen=True)
class EventLog:
    """One validated log, sorted stably by (key, index); build it with :func:`event_log`.

    ``entity`` numbers each event's entity 0..m-1 in sorted order, ``starts`` holds each entity's
    first event position, ``order`` the index as float (seconds for timestamps), ``activity`` the
    activity labels as text (``None`` without an activity column).
    """

    frame: pd.DataFrame
    entity: np.ndarray
    starts: np.ndarray
    order: np.ndarray
    timed: bool
    activity: np.ndarray | None
    context: tuple[Hashable, ...]

    @property
    def ends(self) -> np.ndarray:
        """Position of each entity's last event."""
        return np.r_[self.starts[1:], len(self.entity)] - 1

    @property
    def lengths(self) -> np.ndarray:
        """Events per entity."""
        return self.ends - self.starts + 1

    def same_entity(self) -> np.ndarray:
        """For each consecutive event pair (i, i + 1): True when both belong to one entity."""
        return self.entity[1:] == self.entity[:-1]

    def variants(self) -> pd.Series:
        """Each entity's activity sequence as one text key (labels joined by a control char)."""
        return pd.Series(_acts(self)).groupby(self.entity, sort=False).agg("\x1f".join)

    def first_rows(self) -> pd.DataFrame:
        """One row per entity: its first event."""
        return self.frame.iloc[self.starts]


def _seconds(values: pd.Series, column: Hashable, name: str) -> tuple[np.ndarray, bool]:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9, True
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float), False
    raise InputError(
        f"the {name} log's index column {column!r} must hold timestamps or numbers, got dtype "
        f"{values.dtype}. Parse text timestamps first, e.g. "
        "pd.to_datetime(df[column], utc=True, format='ISO8601')"
    )


def event_log(
    frame: pd.DataFrame,
    *,
    key: Hashable,
    index: Hashable,
    activity: Hashable | None = None,
    context: Sequence[Hashable] = (),
    name: str = "real",
) -> EventLog:
    """Validate ``frame`` and sort a copy stably by (key, index); ``name`` is used in errors.

    Example:
        >>> log = event_log(pd.DataFrame({"id": [2, 1, 1], "t": [5, 9, 3]}), key="id", index="t")
        >>> log.lengths.tolist(), log.order.tolist()
        ([2, 1], [3.0, 9.0, 5.0])
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"the {name} log must be a pandas DataFrame, got {type(frame).__name__}")
    wanted = {"key": key, "index": index} | ({} if activity is None else {"activity": activity})
    wanted |= {f"context[{i}]": c for i, c in enumerate(context)}
    for param, column in wanted.items():
        if column not in frame.columns:
            raise InputError(
                f"the {name} log has no {param} column {column!r}; available columns: "
                f"{[str(c) for c in frame.columns]}. Pass an existing column as {param}=..."
            )
    if frame.empty:
        raise InputError(f"the {name} log is empty: expected at least one event row, got 0")
    for column in (key, index):
        missing = int(frame[column].isna().sum())
        if missing:
            raise InputError(
                f"the {name} log's column {column!r} has {missing} missing value(s); every event "
                "needs an entity key and an order value. Drop or fill those rows first"
            )
    data = frame.sort_values([key, index], kind="stable").reset_index(drop=True)
    order, timed = _seconds(data[index], index, name)
    keys = data[key].to_numpy()
    boundary = np.r_[True, keys[1:] != keys[:-1]]
    entity = np.cumsum(boundary) - 1
    acts = None if activity is None else labels(data[activity]).to_numpy()
    return EventLog(data, entity, np.flatnonzero(boundary), order, timed, acts, tuple(context))


def _tvd(p: pd.Series, q: pd.Series) -> float:
    """Total variation distance between two count (or share) Series aligned on their index."""
    if p.empty or q.empty:
        return 0.0 if p.empty and q.empty else 1.0
    diff = (p / p.sum()).subtract(q / q.sum(), fill_value=0.0)
    return min(1.0, 0.5 * float(diff.abs().sum()))


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import ks_2samp

    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        return 0.0 if len(a) == len(b) else 1.0
    with warnings.catch_warnings():  # the p-value, unused, divides by zero on tiny samples
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(ks_2samp(a, b, method="asymp").statistic)


def _fid(name: str, value: float, direction: str, detail: str, **kw: Any) -> Metric:
    return Metric("fidelity", name, value, direction, detail=detail, **kw)


def _priv(name: str, value: float, direction: str, detail: str) -> Metric:
    return Metric("privacy", name, value, direction, detail=detail)


def _acts(log: EventLog) -> np.ndarray:
    if log.activity is None:
        raise InputError(
            "this metric needs an activity column in every log, got a log without one; pass "
            "activity='<column>' to event_log, or use only length, timing, context and distances"
        )
    return log.activity


def length_metrics(real: EventLog, synthetic: EventLog) -> list[Metric]:
    """KS statistic of events per entity, and its complement.

    Example:
        >>> r = event_log(pd.DataFrame({"k": [1, 2, 2, 3, 3, 3], "t": 0}), key="k", index="t")
        >>> s = event_log(pd.DataFrame({"k": [1, 2, 3], "t": 0}), key="k", index="t")
        >>> round(length_metrics(r, s)[0].value, 4)
        0.6667
    """
    ks = _ks(real.lengths.astype(float), synthetic.lengths.astype(float))
    return [
        _fid("sequence_length_ks", ks, "lower", "KS statistic of events per entity"),
        _fid("sequence_length_shape", 1.0 - ks, "higher", "1 - KS of events per entity"),
    ]


def activity_metrics(real: EventLog, synthetic: EventLog) -> list[Metric]:
    """Total variation of activity frequencies, and of start and end activities.

    Example:
        >>> r = event_log(pd.DataFrame({"k": [1, 1], "t": [0, 1], "a": ["x", "y"]}),
        ...               key="k", index="t", activity="a")
        >>> [m.value for m in activity_metrics(r, r)]
        [0.0, 0.0, 0.0]
    """
    a, b = _acts(real), _acts(synthetic)
    tvd = _tvd(pd.Series(a).value_counts(), pd.Series(b).value_counts())
    out = [_fid("activity_tvd", tvd, "lower", "total variation between activity frequencies")]
    for end in ("start", "end"):
        p = pd.Series(a[getattr(real, f"{end}s")]).value_counts()
        q = pd.Series(b[getattr(synthetic, f"{end}s")]).value_counts()
        detail = f"total variation between the {end} activities (one per entity)"
        out.append(_fid(f"{end}_activity_tvd", _tvd(p, q), "lower", detail))
    return out


def _edges(log: EventLog) -> pd.Series:
    inside, acts = log.same_entity(), _acts(log)
    pairs = pd.DataFrame({"from": acts[:-1][inside], "to": acts[1:][inside]})
    return pairs.value_counts()


def directly_follows_metrics(real: EventLog, synthetic: EventLog) -> list[Metric]:
    """Similarity of directly-follows edges (a, b) within entities, and real edge coverage.

    Only edges between consecutive events of one entity count; start and end activities are
    compared on their own by :func:`activity_metrics`.

    Example:
        >>> r = event_log(pd.DataFrame({"k": 1, "t": [0, 1, 2], "a": list("abc")}),
        ...               key="k", index="t", activity="a")
        >>> s = event_log(pd.DataFrame({"k": 1, "t": [0, 1, 2], "a": list("abd")}),
        ...               key="k", index="t", activity="a")
        >>> [m.value for m in directly_follows_metrics(r, s)]
        [0.5, 0.5]
    """
    p, q = _edges(real), _edges(synthetic)
    kept = float(p[p.index.isin(q.index)].sum() / p.sum()) if len(p) else 1.0
    similar = "1 - total variation between directly-follows edge frequencies"
    covered = "share of real directly-follows edges (by real frequency) found in the synthetic"
    return [
        _fid("directly_follows_similarity", 1.0 - _tvd(p, q), "higher", similar),
        _fid("directly_follows_coverage", kept, "higher", covered),
    ]


def variant_metrics(real: EventLog, synthetic: EventLog) -> list[Metric]:
    """Trace variants (an entity's activity sequence): total variation, coverage, counts.

    Example:
        >>> r = event_log(pd.DataFrame({"k": [1, 1, 2], "t": 0, "a": list("abb")}),
        ...               key="k", index="t", activity="a")
        >>> [m.value for m in variant_metrics(r, r)]
        [0.0, 1.0, 2.0, 2.0]
    """
    p, q = real.variants().value_counts(), synthetic.variants().value_counts()
    covered = float(p[p.index.isin(q.index)].sum() / p.sum())
    n, found = float(len(p)), "share of real entities whose variant appears in the synthetic log"
    return [
        _fid("variant_tvd", _tvd(p, q), "lower", "total variation between variant frequencies"),
        _fid("variant_coverage", covered, "higher", found),
        _fid("variant_count", n, "target", "distinct variants in the real log", target=n),
        _fid("variant_count_synthetic", float(len(q)), "target", "the same, synthetic", target=n),
    ]


def _durations(log: EventLog) -> np.ndarray:
    return log.order[log.ends] - log.order[log.starts]


def _gaps(log: EventLog) -> np.ndarray:
    return np.diff(log.order)[log.same_entity()]


def timing_metrics(real: EventLog, synthetic: EventLog) -> list[Metric]:
    """KS of case durations (last - first index) and of inter-event times within entities.

    Timestamps are measured in seconds; a numeric index in its own units (for a plain position
    0, 1, 2, ... the duration repeats the length test and every gap is 1).

    Example:
        >>> f = pd.DataFrame({"k": [1, 1, 2, 2], "t": [0, 60, 0, 120]})
        >>> r = event_log(f, key="k", index="t")
        >>> [m.value for m in timing_metrics(r, r)]
        [0.0, 0.0]
    """
    if real.timed != synthetic.timed:
        raise InputError(
            "the real and synthetic index columns differ in kind: one holds timestamps, the other "
            "numbers; convert both to the same kind"
        )
    unit = "seconds" if real.timed else "index units"
    duration = _ks(_durations(real), _durations(synthetic))
    detail = f"KS of last - first index per entity ({unit})"
    out = [_fid("case_duration_ks", duration, "lower", detail)]
    detail = f"KS of gaps between consecutive events of an entity ({unit})"
    return [*out, _fid("inter_event_time_ks", _ks(_gaps(real), _gaps(synthetic)), "lower", detail)]


def _is_number(values: pd.Series) -> bool:
    dtype = values.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    return numeric or pd.api.types.is_datetime64_any_dtype(dtype)


def _numbers(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _seconds(values, "", "")[0] * np.where(values.isna(), np.nan, 1.0)
    return values.to_numpy(dtype=float, na_value=np.nan)


def context_metrics(real: EventLog, synthetic: EventLog) -> list[Metric]:
    """One value per entity (its first row) per context column: KS for numbers and dates, total
    variation for categories (missing values form their own category).

    Example:
        >>> f = pd.DataFrame({"k": [1, 1, 2], "t": 0, "c": ["x", "x", "y"]})
        >>> r = event_log(f, key="k", index="t", context=["c"])
        >>> s = event_log(f.assign(c="x"), key="k", index="t", context=["c"])
        >>> context_metrics(r, s)[0].value
        0.5
    """
    if real.context != synthetic.context:
        raise InputError(
            f"context columns differ: real {real.context}, synthetic {synthetic.context}; "
            "build both logs with the same context=[...]"
        )
    out, a, b = [], real.first_rows(), synthetic.first_rows()
    for column in real.context:
        if _is_number(a[column]):
            value = _ks(_numbers(a[column]), _numbers(b[column]))
            out.append(_fid("context_ks", value, "lower", "KS per entity", column=str(column)))
        else:
            value = _tvd(labels(a[column]).value_counts(), labels(b[column]).value_counts())
            out.append(_fid("context_tvd", value, "lower", "TVD per entity", column=str(column)))
    return out


def unique_trace_copies(
    real: EventLog, synthetic: EventLog, holdout: EventLog | None = None
) -> list[Metric]:
    """Share of synthetic entities whose variant is one that occurs exactly once in the real log
    (a copied rare path identifies its case); with ``holdout``, the holdout's own share as the
    natural rate, and the excess.

    Example:
        >>> f = pd.DataFrame({"k": [1, 1, 2, 3], "t": [0, 1, 0, 0], "a": list("abaa")})
        >>> r = event_log(f, key="k", index="t", activity="a")
        >>> unique_trace_copies(r, r)[0].value  # case 1 is the only one with path a, b
        0.3333333333333333
    """
    counts = real.variants().value_counts()
    unique = counts.index[counts.to_numpy() == 1]
    share = float(synthetic.variants().isin(unique).mean())
    detail = "synthetic entities whose activity sequence is unique in the real log"
    out = [_priv("unique_trace_copy_share", share, "lower", detail)]
    if holdout is not None:
        base = float(holdout.variants().isin(unique).mean())
        detail = "holdout entities whose sequence is unique in the real log: the natural rate"
        out.append(_priv("unique_trace_copy_share_holdout", base, "lower", detail))
        detail = "synthetic share minus the holdout's"
        out.append(_priv("unique_trace_copy_excess", share - base, "lower", detail))
    return out


@dataclass(frozen=True)
class EntitySpace:
    """Fixed-length entity vectors, scaled on the real log.

    Columns: log1p(length) and log1p(duration) z-scored; each of the ``MAX_ACTIVITIES`` commonest
    real activities' share of the entity's events, plus one share for all others; context
    numbers z-scored (missing: 0) and context categories one-hot over the real's commonest
    ``MAX_ONE_HOT`` values plus one for the rest.
    """

    real: EventLog

    def _raw(self, log: EventLog) -> list[np.ndarray]:
        first, numbers = log.first_rows(), self.real.first_rows()
        columns = [np.log1p(log.lengths), np.log1p(np.clip(_durations(log), 0, None))]
        return columns + [_numbers(first[c]) for c in self.real.context if _is_number(numbers[c])]

    def _scalars(self, log: EventLog) -> np.ndarray:
        out = []
        for x, ref in zip(self._raw(log), self._raw(self.real), strict=True):
            mean, std = np.nanmean(ref), np.nanstd(ref) or 1.0
            out.append(np.nan_to_num((x - mean) / std))
        return np.column_stack(out)

    @staticmethod
    def _one_hot(entity: np.ndarray, values: np.ndarray, vocab: pd.Index) -> np.ndarray:
        codes = vocab.get_indexer(values)
        codes[codes < 0] = len(vocab)
        width, rows = len(vocab) + 1, int(entity[-1]) + 1
        return np.bincount(entity * width + codes, minlength=rows * width).reshape(rows, width)

    def points(self, log: EventLog) -> np.ndarray:
        """One row per entity of ``log``."""
        blocks = [self._scalars(log)]
        if self.real.activity is not None:
            vocab = pd.Index(pd.Series(self.real.activity).value_counts().index[:MAX_ACTIVITIES])
            counts = self._one_hot(log.entity, _acts(log), vocab)
            blocks.append(counts / log.lengths[:, None])
        first, real_first = log.first_rows(), self.real.first_rows()
        entities = np.arange(len(log.starts))
        for c in self.real.context:
            if not _is_number(real_first[c]):
                vocab = pd.Index(labels(real_first[c]).value_counts().index[:MAX_ONE_HOT])
                blocks.append(self._one_hot(entities, labels(first[c]).to_numpy(), vocab))
        return np.hstack(blocks)


def _subsample(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if len(points) <= MAX_DCR_ENTITIES:
        return points
    return points[rng.choice(len(points), MAX_DCR_ENTITIES, replace=False)]


def _closest(reference: np.ndarray, query: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Distance to the nearest reference row, rounded to 1e-6 so that copies read exactly 0."""
    from umbra.evaluation.prepare import nearest

    return np.round(nearest(reference, _subsample(query, rng))[:, 0], 6)


def entity_distances(
    real: EventLog,
    synthetic: EventLog,
    holdout: EventLog | None = None,
    *,
    random_state: int = 0,
) -> list[Metric]:
    """Distance from each synthetic entity to the closest real one (vectors of
    :class:`EntitySpace`; each side subsampled to ``MAX_DCR_ENTITIES``); with ``holdout``, the
    holdout's own distances and the share of entities closer than their 5th percentile.

    Example:
        >>> f = pd.DataFrame({"k": [1, 1, 2, 3], "t": [0, 5, 0, 0], "a": list("abaa")})
        >>> r = event_log(f, key="k", index="t", activity="a")
        >>> entity_distances(r, r)[0].value
        0.0
    """
    rng = np.random.default_rng(random_state)
    space = EntitySpace(real)
    reference = _subsample(space.points(real), rng)
    to_real = _closest(reference, space.points(synthetic), rng)
    detail = "median distance from a synthetic entity to its closest real entity"
    out = [_priv("sequence_dcr_median", float(np.median(to_real)), "higher", detail)]
    if holdout is None:
        return out
    base = _closest(reference, space.points(holdout), rng)
    cut = float(np.quantile(base, CLOSE_QUANTILE))
    close, close_base = float((to_real <= cut).mean()), float((base <= cut).mean())
    detail = "the same for holdout entities: the natural distance of new real data"
    out.append(_priv("sequence_dcr_median_holdout", float(np.median(base)), "higher", detail))
    detail = (
        f"synthetic entities at most as far from a real one as the holdout's "
        f"{CLOSE_QUANTILE:.0%} quantile ({cut:.3g}); about {CLOSE_QUANTILE} for new real data"
    )
    out.append(_priv("sequence_dcr_close_share", close, "lower", detail))
    detail = "the same share for the holdout itself (at least the quantile, more with ties)"
    return [*out, _priv("sequence_dcr_close_share_holdout", close_base, "lower", detail)]


def sequence_metrics(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    key: Hashable,
    index: Hashable,
    activity: Hashable | None = None,
    context: Sequence[Hashable] = (),
    holdout: pd.DataFrame | None = None,
    random_state: int = 0,
) -> list[Metric]:
    """Every sequence metric, fidelity then privacy; activity-based ones only with ``activity``.

    ``holdout`` is another real part of the log (entities disjoint from ``real``): it gives the
    privacy metrics their natural rate. Inputs are not modified.
    """
    spec: dict[str, Any] = {"key": key, "index": index, "activity": activity, "context": context}
    r, s = event_log(real, **spec), event_log(synthetic, **spec, name="synthetic")
    held = None if holdout is None else event_log(holdout, **spec, name="holdout")
    out = length_metrics(r, s)
    if activity is not None:
        out += activity_metrics(r, s) + directly_follows_metrics(r, s) + variant_metrics(r, s)
    out += timing_metrics(r, s) + context_metrics(r, s)
    if activity is not None:
        out += unique_trace_copies(r, s, held)
    return out + entity_distances(r, s, held, random_state=random_state)


__all__ = [
    "EntitySpace",
    "EventLog",
    "activity_metrics",
    "context_metrics",
    "directly_follows_metrics",
    "entity_distances",
    "event_log",
    "length_metrics",
    "sequence_metrics",
    "timing_metrics",
    "unique_trace_copies",
    "variant_metrics",
]
