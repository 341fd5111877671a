"""The sequence model: valid whole entities, ragged lengths, persistence, bad input, a real log."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import umbra
from umbra.cli import run
from umbra.evaluation.sequences import sequence_metrics
from umbra.exceptions import InputError, MetadataError

from .conftest import SHARED

RECEIPT = SHARED / "eventlog_receipt" / "receipt.xes.gz"


def make_log(cases: int = 120, seed: int = 0, long_case: int = 300) -> pd.DataFrame:
    """Cases of 1 to 7 events (one of ``long_case``), zoned times, shuffled rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for case in range(cases):
        n = 1 if case % 10 == 0 else (long_case if case == 7 else int(rng.integers(2, 8)))
        when = pd.Timestamp("2024-03-01", tz="Europe/Berlin") + pd.Timedelta(
            hours=int(rng.integers(0, 500))
        )
        region = str(rng.choice(["north", "south"]))
        for i in range(n):
            when += pd.Timedelta(minutes=int(rng.integers(1, 90)))
            activity = "start" if i == 0 else str(rng.choice(["check", "approve"]))
            rows.append(
                {"case": f"c{case}", "time": when, "activity": activity, "region": region,
                 "amount": round(float(rng.gamma(2.0, 10.0)), 2)}
            )  # fmt: skip
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def fit(
    log: pd.DataFrame, meta: umbra.Metadata | None = None, **params: object
) -> umbra.Synthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", umbra.PrivacyLeakWarning)
        model = umbra.create("sequence", **{"epochs": 4, "random_state": 0, **params})
        return model.fit(log, meta)


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return make_log()


@pytest.fixture(scope="module")
def trained(log: pd.DataFrame) -> umbra.Synthesizer:
    return fit(log)


def test_detects_the_roles_of_an_event_log(log: pd.DataFrame) -> None:
    meta = umbra.Metadata.detect(log, warn=False)
    assert meta.sequence is not None
    assert (meta.sequence.key, meta.sequence.index) == ("case", "time")
    assert meta.sequence.activity == "activity" and meta.sequence.context == ["region"]
    again = umbra.Metadata.from_dict(meta.to_dict())
    assert again.sequence == meta.sequence


def test_a_case_control_flag_is_not_a_sequence_key() -> None:
    rng = np.random.default_rng(3)
    study = pd.DataFrame(
        {
            "case": rng.integers(0, 2, 200),
            "time": pd.date_range("2024-01-01", periods=200, freq="D"),
            "age": rng.integers(20, 80, 200),
        }
    )
    assert umbra.Metadata.detect(study, warn=False).sequence is None
    few = study.assign(case=np.repeat(np.arange(5), 40))  # five entities: still too few to guess
    assert umbra.Metadata.detect(few, warn=False).sequence is None
    many = study.assign(case=np.repeat(np.arange(20), 10))
    assert umbra.Metadata.detect(many, warn=False).sequence is not None


def test_output_is_whole_valid_entities(log: pd.DataFrame, trained: umbra.Synthesizer) -> None:
    fake = trained.sample(80)
    assert list(fake.columns) == list(log.columns)
    assert fake.dtypes.to_dict() == log.dtypes.to_dict()
    assert fake["case"].nunique() == 80 and not set(fake["case"]) & set(log["case"])
    assert fake.notna().all().all()  # no padding rows, no nulls the source does not have
    groups = fake.groupby("case", sort=False)
    assert (groups["region"].nunique() == 1).all()  # one context per entity
    gaps = groups["time"].diff().dropna()
    assert (gaps > pd.Timedelta(0)).all()  # the source never repeats a time: strictly increasing
    assert (groups.size() >= 1).all() and set(fake["activity"]) <= set(log["activity"])


def test_ragged_lengths_single_events_and_a_long_entity(log: pd.DataFrame) -> None:
    synth = fit(log, epochs=12)
    lengths = synth.sample(400, random_state=1).groupby("case").size()
    assert synth.max_length_ == 300  # type: ignore[attr-defined]
    assert (lengths == 1).mean() > 0.02 and lengths.max() <= 300 and lengths.nunique() > 4


def test_reproducible_and_identical_after_load(
    log: pd.DataFrame, trained: umbra.Synthesizer, tmp_path: Path
) -> None:
    again = fit(log)
    pd.testing.assert_frame_equal(
        trained.sample(20, random_state=5), again.sample(20, random_state=5)
    )
    trained.save(tmp_path / "log.umbra")
    loaded = umbra.load(tmp_path / "log.umbra")
    pd.testing.assert_frame_equal(
        loaded.sample(20, random_state=7), trained.sample(20, random_state=7)
    )


def test_conditions_fix_the_context_only(trained: umbra.Synthesizer) -> None:
    fake = trained.sample(10, conditions={"region": "south"})
    assert fake["case"].nunique() == 10 and (fake["region"] == "south").all()
    with pytest.raises(InputError, match="context columns only"):
        trained.sample(5, conditions={"activity": "start"})


def test_duplicate_times_and_events_out_of_order(log: pd.DataFrame) -> None:
    """Repeated times give non-decreasing output; the file's row order does not matter."""
    tied = log.copy()
    tied.loc[tied.index[::3], "time"] = tied["time"].min()
    fake = fit(tied).sample(60)
    assert (fake.groupby("case")["time"].diff().dropna() >= pd.Timedelta(0)).all()
    reordered = fit(log.iloc[::-1].reset_index(drop=True))
    assert reordered.sample(5).shape[1] == log.shape[1]


def test_numeric_case_ids_and_positions(log: pd.DataFrame) -> None:
    numeric = log.assign(case=log["case"].str[1:].astype("int64"))
    numeric["step"] = numeric.sort_values("time").groupby("case").cumcount()
    numeric = numeric.drop(columns=["time"])
    meta = umbra.Metadata.detect(numeric, warn=False).set_sequence("case", "step")
    fake = fit(numeric, meta).sample(30)
    assert fake["case"].dtype == np.int64 and fake["case"].min() >= 10**12
    assert fake["step"].dtype == np.int64
    assert (fake.groupby("case")["step"].diff().dropna() >= 0).all()


def test_an_all_null_event_attribute_stays_null(log: pd.DataFrame) -> None:
    empty = log.assign(note=pd.Series([None] * len(log), dtype=object))
    meta = umbra.Metadata.detect(empty, warn=False).set_sequence("case", "time", context=["region"])
    fake = fit(empty, meta).sample(10)
    assert fake["note"].isna().all()


def test_bad_input_is_named(log: pd.DataFrame) -> None:
    missing = log.copy()
    missing.loc[missing.index[:4], "time"] = pd.NaT
    with pytest.raises(InputError, match=r"'time' is missing or unreadable in 4 row"):
        fit(missing)
    no_key = log.copy()
    no_key.loc[no_key.index[:2], "case"] = None
    with pytest.raises(InputError, match=r"key 'case' is missing in 2 row"):
        fit(no_key)
    plain = umbra.Metadata.detect(log.rename(columns={"case": "who"}), warn=False)
    assert plain.sequence is None
    with pytest.raises(InputError, match="set_sequence"):
        fit(log.rename(columns={"case": "who"}), plain)
    varying = umbra.Metadata.detect(log, warn=False).set_sequence(
        "case", "time", context=["amount"]
    )
    with pytest.raises(InputError, match="context column 'amount' changes within"):
        fit(log, varying)
    with pytest.raises(MetadataError, match="'nope' is not a column"):
        umbra.Metadata.detect(log, warn=False).set_sequence("nope", "time")
    one = log[log["case"] == "c1"]
    with pytest.raises(InputError, match="at least 2"):
        fit(one, umbra.Metadata.detect(one, warn=False).set_sequence("case", "time"))
    for params, match in (({"max_length": 0}, "max_length"), ({"dropout": 1.5}, "dropout")):
        with pytest.raises(InputError, match=match):
            fit(log, **params)


def test_mixed_timezones_in_one_column_are_named_with_the_fix(log: pd.DataFrame) -> None:
    mixed = log.copy().astype({"time": object})
    zoned = [t.tz_convert("America/New_York") for t in mixed["time"][::2]]
    mixed.loc[mixed.index[::2], "time"] = zoned
    with pytest.raises(InputError, match=r"'time' holds timestamps in 2 timezones.*utc=True"):
        fit(mixed)
    unified = mixed.assign(time=pd.to_datetime(mixed["time"], utc=True))
    fake = fit(unified).sample(5)
    assert str(fake["time"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.skipif(not RECEIPT.is_file(), reason="../shared/data/eventlog_receipt is absent")
def test_receipt_log_matches_a_held_out_part() -> None:
    """On the real receipt log: activity TV <= 0.05 and length KS <= 0.1 against the log."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", umbra.exceptions.DataWarning)  # summer and winter time
        real = umbra.read(RECEIPT)
    meta = umbra.Metadata.detect(real, warn=False)
    assert meta.sequence is not None
    key = meta.sequence.key
    cases = real[key].drop_duplicates().sample(frac=0.8, random_state=0)
    train = real[real[key].isin(cases)].reset_index(drop=True)
    synth = fit(train, meta, epochs=100)
    fake = synth.sample(train[key].nunique())
    scores = {
        m.name: m.value
        for m in sequence_metrics(
            train, fake, key=key, index=meta.sequence.index, activity=meta.sequence.activity
        )
    }
    assert scores["activity_tvd"] <= 0.05 and scores["sequence_length_ks"] <= 0.1
    assert scores["directly_follows_similarity"] >= 0.85


def test_cli_synthesizes_an_event_log_from_csv_to_xes(log: pd.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "log.csv"
    log.rename(columns={"case": "case_id", "time": "timestamp"}).to_csv(source, index=False)
    out = tmp_path / "fake.xes.gz"
    args = ["synthesize", str(source), "-o", str(out), "--entities", "30", "--seed", "0"]
    assert run([*args, "--allow-risky"]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", umbra.exceptions.DataWarning)
        fake = umbra.read(out)
    assert fake["case:concept:name"].nunique() == 30
    assert {"concept:name", "time:timestamp", "amount", "case:region"} <= set(fake.columns)
    report = json.loads((tmp_path / "fake.report.json").read_text())
    names = {m["name"] for family in report["metrics"].values() for m in family}
    assert {"activity_tvd", "sequence_length_ks", "unique_trace_copy_share"} <= names


def test_cli_sequence_options_and_their_errors(
    log: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "visits.csv"
    log.rename(columns={"case": "who", "time": "when"}).to_csv(source, index=False)
    out = tmp_path / "fake.csv"
    base = ["synthesize", str(source), "-o", str(out), "--seed", "0", "--allow-risky"]
    assert run([*base, "--sequence-key", "who", "--rows", "5"]) == 2
    assert "use --entities" in capsys.readouterr().err
    assert run([*base, "--sequence-index", "when"]) == 2
    assert "needs --sequence-key" in capsys.readouterr().err
    assert run([*base, "--model", "sequence"]) == 2
    assert "not a sequence table" in capsys.readouterr().err
    assert run([*base, "--sequence-key", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    xes = ["synthesize", str(source), "-o", str(tmp_path / "plain.xes"), "--allow-risky"]
    assert run(xes) == 2
    assert "--sequence-key" in capsys.readouterr().err
    assert not out.exists()
    args = [*base, "--sequence-key", "who", "--sequence-index", "when", "--entities", "12"]
    assert run(args) == 0
    fake = umbra.read(out)
    assert fake["who"].nunique() == 12 and list(fake.columns) == list(umbra.read(source).columns)
    report = json.loads((tmp_path / "fake.report.json").read_text())
    assert any(m["name"] == "activity_tvd" for m in report["metrics"]["fidelity"])
    judged = tmp_path / "judged.json"
    judge = ["evaluate", "--real", str(source), "--synthetic", str(out), "--json", str(judged)]
    assert run([*judge, "--sequence-key", "who", "--sequence-index", "when"]) == 0
    names = {m["name"] for m in json.loads(judged.read_text())["metrics"]["fidelity"]}
    assert {"sequence_length_ks", "activity_tvd"} <= names
    meta_path = tmp_path / "visits.json"
    assert run(["detect", str(source), "-o", str(meta_path), "--sequence-key", "who"]) == 0
    sequence = json.loads(meta_path.read_text())["sequence"]
    assert sequence["key"] == "who" and "region" in sequence["context"]
    model = tmp_path / "visits.umbra"
    fit_args = ["fit", str(source), "-o", str(model), "--sequence-key", "who"]
    assert run([*fit_args, "--sequence-index", "when", "--seed", "1"]) == 0
    again = tmp_path / "again.csv"
    assert run(["sample", str(model), "--rows", "7", "-o", str(again), "--seed", "2"]) == 0
    assert umbra.read(again)["who"].nunique() == 7


def test_empty_draws_ids_that_continue_and_times_inside_the_range(
    log: pd.DataFrame, trained: umbra.Synthesizer
) -> None:
    empty = trained.sample(0)
    assert len(empty) == 0 and list(empty.columns) == list(log.columns)
    first, second = trained.sample(5), trained.sample(5)
    assert not set(first["case"]) & set(second["case"])  # stacked batches stay apart
    seeded = trained.sample(5, random_state=1)
    assert seeded["case"].iloc[0] == "synthetic-1"  # a seeded draw depends on its seed alone
    many = trained.sample(300, random_state=2)
    assert many["time"].max() <= log["time"].max()  # the real log ends there: so does this one


def test_xes_style_logs_keep_event_attributes_and_the_key_is_an_identifier(
    log: pd.DataFrame,
) -> None:
    xes = log.rename(
        columns={"case": "case:concept:name", "time": "time:timestamp", "activity": "concept:name",
                 "region": "case:region"}
    ).assign(**{"lifecycle:transition": "complete"})  # fmt: skip
    meta = umbra.Metadata.detect(xes, warn=False)
    assert meta.sequence is not None and meta.sequence.context == ["case:region"]
    assert meta["case:concept:name"].kind == "id" and meta["case:concept:name"].categories is None


def test_holdout_sharing_entities_is_named(log: pd.DataFrame, trained: umbra.Synthesizer) -> None:
    rows_split = log.iloc[::5]
    with pytest.warns(umbra.exceptions.DataWarning, match="shares .* entities"):
        umbra.evaluate(log, trained.sample(20), holdout=rows_split)
    with pytest.raises(InputError, match="no such column"):
        umbra.split_holdout(log, 0.2, 0, by="nope")
    train, kept = umbra.split_holdout(log, 0.2, 0, by="case")
    assert not set(train["case"]) & set(kept["case"]) and kept["case"].nunique() == 24
