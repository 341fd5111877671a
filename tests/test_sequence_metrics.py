"""Sequence and event-log metrics: values known by hand on tiny logs, errors, and real logs."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import umbra
from umbra.evaluation import sequences as sq
from umbra.evaluation.result import Evaluation, Metric
from umbra.evaluation.sequences import event_log, sequence_metrics
from umbra.exceptions import DataWarning, InputError

from .conftest import SHARED

SPEC: dict[str, Any] = {"key": "case", "index": "t", "activity": "act"}
T0 = pd.Timestamp("2024-01-01", tz="Europe/Berlin")


def make_log(
    traces: dict[object, str], gap_s: float = 60.0, **context: list[object]
) -> pd.DataFrame:
    """One row per letter of each trace; events ``gap_s`` seconds apart; context per case."""
    rows = []
    for i, (case, trace) in enumerate(traces.items()):
        for j, act in enumerate(trace):
            extra = {name: values[i] for name, values in context.items()}
            rows.append({"case": case, "t": T0 + pd.Timedelta(seconds=j * gap_s), "act": act})
            rows[-1] |= extra
    return pd.DataFrame(rows)


def random_log(n: int, seed: int, max_len: int = 6) -> pd.DataFrame:
    """Random cases: 1..max_len events over 'abcd', exponential gaps, a channel and an amount."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_len + 1, n)
    case = np.repeat(np.arange(n), lengths)
    gaps = rng.exponential(3600, len(case))
    t = pd.Series(gaps).groupby(case).cumsum().to_numpy()
    channel = rng.choice(["web", "mail", "desk"], n)[case]
    amount = rng.lognormal(8, 1, n)[case]
    return pd.DataFrame(
        {
            "case": case,
            "t": T0 + pd.to_timedelta(t, unit="s"),
            "act": rng.choice(list("abcd"), len(case)),
            "channel": channel,
            "amount": amount,
        }
    )


def values(metrics: list[Metric]) -> dict[str, float]:
    """Metric values by name (``name[column]`` for per-column ones); None would be NaN."""
    return {
        m.name + (f"[{m.column}]" if m.column else ""): math.nan if m.value is None else m.value
        for m in metrics
    }


def test_identical_logs_score_perfectly() -> None:
    real = random_log(120, 0)
    got = values(sequence_metrics(real, real.copy(), **SPEC, context=["channel", "amount"]))
    for name in ("sequence_length_ks", "activity_tvd", "start_activity_tvd", "end_activity_tvd"):
        assert got[name] == 0.0, name
    for name in ("variant_tvd", "case_duration_ks", "inter_event_time_ks", "sequence_dcr_median"):
        assert got[name] == 0.0, name
    assert got["context_tvd[channel]"] == 0.0 and got["context_ks[amount]"] == 0.0
    for name in ("sequence_length_shape", "directly_follows_similarity", "variant_coverage"):
        assert got[name] == pytest.approx(1.0), name
    assert got["directly_follows_coverage"] == 1.0
    assert got["variant_count"] == got["variant_count_synthetic"]


def test_one_swapped_activity_gives_hand_computed_distances() -> None:
    real = make_log({1: "abc", 2: "ab"})
    fake = make_log({1: "abd", 2: "ab"})
    got = values(sequence_metrics(real, fake, **SPEC))
    # activities a, b, c = 2/5, 2/5, 1/5 against a, b, d: c and d each differ by 1/5
    assert got["activity_tvd"] == pytest.approx(0.2)
    assert got["start_activity_tvd"] == 0.0
    assert got["end_activity_tvd"] == pytest.approx(0.5)  # ends {c, b} against {d, b}
    # edges (a,b) x2, (b,c) against (a,b) x2, (b,d): TV 1/3; real mass on shared edges 2/3
    assert got["directly_follows_similarity"] == pytest.approx(2 / 3)
    assert got["directly_follows_coverage"] == pytest.approx(2 / 3)
    assert got["variant_tvd"] == pytest.approx(0.5)
    assert got["variant_coverage"] == pytest.approx(0.5)
    assert got["variant_count"] == got["variant_count_synthetic"] == 2.0
    assert got["sequence_length_ks"] == 0.0


def test_length_ks_by_hand() -> None:
    real = make_log({1: "a", 2: "ab", 3: "abc"})
    fake = make_log({1: "a", 2: "b", 3: "c"})
    got = values(sq.length_metrics(event_log(real, **SPEC), event_log(fake, **SPEC)))
    assert got["sequence_length_ks"] == pytest.approx(2 / 3)  # ECDFs at 1: 1/3 against 1
    assert got["sequence_length_shape"] == pytest.approx(1 / 3)


def test_timing_by_hand_in_seconds_tz_aware_or_naive() -> None:
    real = pd.DataFrame({"case": [1, 1, 2, 2, 2], "t": [0, 60, 0, 60, 180], "act": "a"})
    fake = pd.DataFrame({"case": [1, 1, 2, 2], "t": [0, 60, 0, 60], "act": "a"})
    numeric = values(sq.timing_metrics(event_log(real, **SPEC), event_log(fake, **SPEC)))
    # durations [60, 180] against [60, 60]; gaps [60, 60, 120] against [60, 60]
    assert numeric == pytest.approx({"case_duration_ks": 0.5, "inter_event_time_ks": 1 / 3})
    for tz in (None, "UTC", "America/New_York"):
        stamp = pd.Timestamp("2023-03-12 01:59:30", tz=tz)  # spans a DST jump in New York
        r = real.assign(t=stamp + pd.to_timedelta(real["t"], unit="s"))
        f = fake.assign(t=stamp + pd.to_timedelta(fake["t"], unit="s"))
        timed = sq.timing_metrics(event_log(r, **SPEC), event_log(f, **SPEC))
        assert values(timed) == pytest.approx(numeric)
        assert "seconds" in timed[0].detail


def test_rows_are_sorted_stably_and_inputs_untouched() -> None:
    real = random_log(50, 1)
    shuffled = real.sample(frac=1.0, random_state=0)
    before = shuffled.copy()
    got = values(sequence_metrics(real, shuffled, **SPEC))
    assert got["variant_tvd"] == 0.0 and got["directly_follows_similarity"] == pytest.approx(1.0)
    pd.testing.assert_frame_equal(shuffled, before)
    # ties in the index keep their row order: a, b at one instant differs from b, a
    tie = pd.DataFrame({"case": [1, 1], "t": [0, 0], "act": ["a", "b"]})
    flipped = values(sequence_metrics(tie, tie.iloc[::-1], **SPEC))
    assert flipped["variant_tvd"] == 1.0 and flipped["start_activity_tvd"] == 1.0


def test_context_is_compared_once_per_entity() -> None:
    real = make_log({1: "aaa", 2: "a"}, channel=["x", "y"], amount=[1.0, 2.0])
    fake = make_log({1: "a", 2: "aaa"}, channel=["x", "y"], amount=[1.0, 3.0])
    real["opened"] = T0 + pd.to_timedelta(real["case"], unit="D")
    fake["opened"] = T0 + pd.to_timedelta(fake["case"] * 2, unit="D")
    spec = SPEC | {"context": ["channel", "amount", "opened"]}
    got = values(sq.context_metrics(event_log(real, **spec), event_log(fake, **spec)))
    assert got["context_tvd[channel]"] == 0.0  # per event it would differ: 3:1 against 1:3
    assert got["context_ks[amount]"] == pytest.approx(0.5)
    assert got["context_ks[opened]"] == pytest.approx(0.5)  # days {1, 2} against {2, 4}


def test_copied_unique_trace_share_and_holdout_baseline() -> None:
    real = make_log({1: "abc", 2: "ab", 3: "ab"})  # only case 1's path is unique
    fake = make_log({10: "abc", 11: "ab", 12: "ab", 13: "ba"})
    holdout = make_log({20: "ab", 21: "abc"})
    r, s, h = (event_log(x, **SPEC) for x in (real, fake, holdout))
    assert values(sq.unique_trace_copies(r, s)) == {"unique_trace_copy_share": 0.25}
    got = values(sq.unique_trace_copies(r, s, h))
    assert got["unique_trace_copy_share_holdout"] == 0.5
    assert got["unique_trace_copy_excess"] == pytest.approx(-0.25)


def test_distances_to_closest_entity_against_holdout() -> None:
    real, holdout = random_log(300, 0), random_log(300, 1)
    spec = SPEC | {"context": ["channel", "amount"]}
    copied = values(sequence_metrics(real, real.copy(), **spec, holdout=holdout))
    assert copied["sequence_dcr_median"] == 0.0 and copied["sequence_dcr_close_share"] == 1.0
    assert copied["sequence_dcr_median_holdout"] > 0
    assert copied["sequence_dcr_close_share_holdout"] == pytest.approx(0.05, abs=0.01)
    fresh = values(sequence_metrics(real, random_log(300, 2), **spec, holdout=holdout))
    assert fresh["sequence_dcr_close_share"] < 0.15
    assert fresh["sequence_dcr_median"] == pytest.approx(
        copied["sequence_dcr_median_holdout"], rel=0.5
    )
    far = values(sequence_metrics(real, random_log(300, 3, max_len=40), **spec, holdout=holdout))
    assert far["sequence_dcr_median"] > 2 * copied["sequence_dcr_median_holdout"]


def test_distances_are_subsampled_and_reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sq, "MAX_DCR_ENTITIES", 40)
    r, s, h = (event_log(random_log(200, seed), **SPEC) for seed in (0, 1, 2))
    first = values(sq.entity_distances(r, s, h, random_state=3))
    assert first == values(sq.entity_distances(r, s, h, random_state=3))
    assert all(math.isfinite(v) for v in first.values())


def test_logs_without_activity_get_the_other_metrics() -> None:
    real = random_log(40, 0).drop(columns="act")
    spec: dict[str, Any] = {"key": "case", "index": "t"}
    got = values(sequence_metrics(real, random_log(40, 1), **spec, holdout=random_log(40, 2)))
    assert {"sequence_length_ks", "case_duration_ks", "sequence_dcr_close_share"} <= set(got)
    assert not any("activity" in n or "variant" in n or "trace" in n for n in got)
    with pytest.raises(InputError, match="activity column"):
        sq.variant_metrics(event_log(real, **spec), event_log(real, **spec))


def test_integer_positions_are_measured_in_index_units() -> None:
    real = pd.DataFrame({"case": [1, 1, 1, 2], "t": [0, 1, 2, 0], "act": list("abca")})
    got = sq.timing_metrics(event_log(real, **SPEC), event_log(real, **SPEC))
    assert [m.value for m in got] == [0.0, 0.0] and "index units" in got[0].detail


def test_metrics_plug_into_an_evaluation() -> None:
    real = random_log(60, 0)
    ev = Evaluation(sequence_metrics(real, random_log(60, 1), **SPEC, context=["channel"]))
    assert {m.family for m in ev.metrics} == {"fidelity", "privacy"}
    assert ev.get("context_tvd", column="channel").value is not None
    assert '"unique_trace_copy_share"' in ev.to_json()
    for m in ev.metrics:
        assert m.value is not None and (m.name.startswith("variant_count") or 0 <= m.value <= 1)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"key": "id"}, r"no key column 'id'; available columns: \['case', 't', 'act'"),
        ({"index": "when"}, "no index column 'when'"),
        ({"activity": "task"}, "no activity column 'task'"),
        ({"context": ["region"]}, r"no context\[0\] column 'region'"),
    ],
)
def test_missing_columns_are_named(change: dict[str, object], match: str) -> None:
    log = make_log({1: "ab"})
    with pytest.raises(InputError, match=match):
        sequence_metrics(log, log, **(SPEC | change))


def test_bad_inputs_raise_input_errors() -> None:
    log = make_log({1: "ab", 2: "a"})
    with pytest.raises(InputError, match="synthetic log is empty"):
        sequence_metrics(log, log.iloc[:0], **SPEC)
    with pytest.raises(InputError, match="holdout log is empty"):
        sequence_metrics(log, log, **SPEC, holdout=log.iloc[:0])
    with pytest.raises(InputError, match="'case' has 1 missing"):
        sequence_metrics(log, log.assign(case=[1.0, None, 2.0]), **SPEC)
    with pytest.raises(InputError, match="to_datetime"):
        sequence_metrics(log.assign(t=log["t"].astype(str)), log, **SPEC)
    with pytest.raises(InputError, match="differ in kind"):
        sequence_metrics(log, log.assign(t=[0, 1, 0]), **SPEC)
    with pytest.raises(InputError, match="must be a pandas DataFrame"):
        sequence_metrics(log.to_dict(), log, **SPEC)


# ------------------------------------------------------------------------------- real logs

LOGS = {
    "receipt": ("eventlog_receipt/receipt_events.csv", ["case:channel", "case:department"]),
    "bpic2013": ("eventlog_bpic2013_incidents/bpic2013_incidents_events.csv.gz", ["impact"]),
    "bpic2012": ("eventlog_bpic2012/bpic2012_events.csv.gz", ["case:AMOUNT_REQ"]),
}
REAL: dict[str, Any] = {"key": "case_id", "index": "timestamp", "activity": "activity"}


def read_log(name: str) -> tuple[pd.DataFrame, list[str]]:
    """One of the shared logs from its flattened CSV, with timestamps parsed as UTC."""
    relative, context = LOGS[name]
    log = pd.read_csv(SHARED / relative)
    log["timestamp"] = pd.to_datetime(log["timestamp"], utc=True, format="ISO8601")
    return log, context


def split(log: pd.DataFrame, parts: int, seed: int = 0) -> list[pd.DataFrame]:
    """Cases dealt at random into ``parts`` equal groups."""
    cases = log["case_id"].unique()
    groups = np.random.default_rng(seed).permutation(len(cases)) % parts
    return [log[log["case_id"].isin(cases[groups == g])] for g in range(parts)]


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is absent")
@pytest.mark.parametrize(
    "name",
    ["receipt", *(pytest.param(n, marks=pytest.mark.slow) for n in ("bpic2013", "bpic2012"))],
)
def test_real_log_halves_agree_and_shuffling_is_caught(name: str) -> None:
    log, context = read_log(name)
    first, second = split(log, 2)
    spec = REAL | {"context": context}
    got = values(sequence_metrics(first, second, **spec))
    assert got["activity_tvd"] <= 0.05 and got["sequence_length_ks"] <= 0.1
    assert got["start_activity_tvd"] <= 0.05 and got["end_activity_tvd"] <= 0.1
    assert got["directly_follows_similarity"] >= 0.9 and got["directly_follows_coverage"] >= 0.95
    assert got["case_duration_ks"] <= 0.1 and got["inter_event_time_ks"] <= 0.1
    assert max(v for n, v in got.items() if n.startswith("context")) <= 0.1
    rng = np.random.default_rng(1)
    shuffled = second.assign(activity=rng.permutation(second["activity"].to_numpy()))
    bad = values(sequence_metrics(first, shuffled, **spec))
    assert bad["activity_tvd"] == got["activity_tvd"]  # the same events, in a random order
    assert bad["directly_follows_similarity"] < got["directly_follows_similarity"] - 0.2
    assert bad["variant_coverage"] < got["variant_coverage"] - 0.2
    assert bad["start_activity_tvd"] > 0.2 and bad["variant_tvd"] > got["variant_tvd"] + 0.3


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is absent")
def test_real_log_privacy_against_a_holdout() -> None:
    log, context = read_log("receipt")
    train, fresh, holdout = split(log, 3)
    spec = REAL | {"context": context}
    got = values(sequence_metrics(train, fresh, **spec, holdout=holdout))
    assert abs(got["unique_trace_copy_excess"]) <= 0.03
    assert got["sequence_dcr_close_share"] <= 0.2
    copied = values(sequence_metrics(train, train, **spec, holdout=holdout))
    assert copied["sequence_dcr_close_share"] == 1.0
    assert copied["unique_trace_copy_share"] > 2 * got["unique_trace_copy_share_holdout"]


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is absent")
def test_receipt_read_from_xes_scores_as_from_csv() -> None:
    eventlog = pytest.importorskip("umbra.io.eventlog")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # summer and winter offsets -> UTC
        xes = eventlog.read_xes(SHARED / "eventlog_receipt" / "receipt.xes.gz")
    names = {"case:concept:name": "case_id", "concept:name": "activity"}
    xes = xes.rename(columns=names | {"time:timestamp": "timestamp"})
    csv, context = read_log("receipt")
    halves = [split(log, 2) for log in (csv, xes)]
    scores = [values(sequence_metrics(a, b, **REAL, context=context)) for a, b in halves]
    assert scores[0] == pytest.approx(scores[1])


def test_row_distances_of_an_event_log_compare_whole_entities() -> None:
    """A fake made of an unseen pool's values, column by column independent, is as close to the
    training log as to the holdout (averaged over four splits): the references are whole
    entities, as many from each. Rows sampled one by one gave 0.53-0.60 here."""
    from .test_sequence import make_log

    log = make_log(cases=900, seed=1, long_case=40)
    cases = log["case"].unique()
    for j in range(5):  # context that sets each entity apart
        values = np.random.default_rng(2 + j).normal(size=len(cases))
        log[f"c{j}"] = log["case"].map(dict(zip(cases, values, strict=True)))
    meta = umbra.Metadata.detect(log, warn=False)
    shares = []
    for split in range(4):
        rest, holdout = umbra.split_holdout(log, 0.2, split, by="case")
        train, pool = umbra.split_holdout(rest, 0.25, 1, by="case")
        rng = np.random.default_rng(0)
        fake = pool.sample(3000, replace=True, random_state=0).reset_index(drop=True)
        for column in fake.columns.drop("case"):
            fake[column] = rng.permutation(fake[column].to_numpy())
        fake["case"] = [f"f{i // 4}" for i in range(len(fake))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ev = umbra.evaluate(train, fake, meta, holdout=holdout, random_state=0)
        shares.append(ev.get("dcr_share").value)
    assert abs(np.mean(shares) - 0.5) < 0.04, shares
