"""XES event logs: exact round trips, timezones kept, clear errors, and three real logs."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import umbra
from umbra.exceptions import DataWarning, InputError, OutputExistsError
from umbra.io.eventlog import read_xes, write_xes
from umbra.io.tables import table_format

from .conftest import SHARED

PLUS_TWO = dt.timezone(dt.timedelta(hours=2))


def event_log(tz: dt.tzinfo | str | None = PLUS_TWO) -> pd.DataFrame:
    """Two cases with every attribute type, gaps, and text that needs escaping."""
    stamps = pd.to_datetime(
        [
            "2021-06-01 08:00:00.123",
            "2021-06-01 09:30:00",
            "2021-06-02 10:00:00.000001",
            "2021-06-02 10:00:01",
            None,
        ],
        format="ISO8601",
    )
    return pd.DataFrame(
        {
            "case:concept:name": ["a", "a", "b", "b", "b"],
            "concept:name": ["register", "check", "register", "approve", "close"],
            "time:timestamp": stamps.tz_localize(tz) if tz is not None else stamps,
            "org:resource": ["r1", np.nan, "r2", "r1", "r3"],
            "note": ['he said "hi" & <left>', "line\nbreak\ttab", "ünï ✓", "", " spaced "],
            "cost": [1.5, np.nan, 0.1, float("-inf"), 1e-7],
            "steps": np.array([1, 2, 3, -4, 2**40], dtype=np.int64),
            "count": pd.array([1, None, 3, 4, 5], dtype="Int64"),
            "ok": [True, False, True, True, False],
            "flag": pd.array([True, None, False, True, None], dtype="boolean"),
            "case:amount": [100, 100, 250, 250, 250],
            "case:vip": [True, True, False, False, False],
        }
    )


def xes_text(body: str) -> str:
    """A minimal XES document: the body starts on line 3."""
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n{body}\n</log>\n'


@pytest.mark.parametrize("name", ["log.xes", "log.xes.gz"])
def test_round_trip_keeps_values_types_and_offset(tmp_path: Path, name: str) -> None:
    df = event_log()
    path = write_xes(df, tmp_path / name)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    back = read_xes(path)
    pd.testing.assert_frame_equal(back, df)
    assert str(back["time:timestamp"].dtype) == "datetime64[ns, UTC+02:00]"


@pytest.mark.parametrize("tz", ["UTC", None], ids=["utc", "naive"])
def test_round_trip_utc_and_naive(tmp_path: Path, tz: str | None) -> None:
    df = event_log(tz)
    back = read_xes(write_xes(df, tmp_path / "log.xes"))
    pd.testing.assert_frame_equal(back, df)


def test_mixed_offsets_become_utc_with_one_warning(tmp_path: Path) -> None:
    df = event_log("Europe/Amsterdam")
    df.loc[0, "time:timestamp"] = pd.Timestamp("2021-01-15 12:00", tz="Europe/Amsterdam")
    path = write_xes(df, tmp_path / "log.xes")
    assert "+01:00" in path.read_text() and "+02:00" in path.read_text()
    with pytest.warns(DataWarning, match=r"different UTC offsets .*'time:timestamp'") as record:
        back = read_xes(path)
    assert len(record) == 1
    expected = df.assign(**{"time:timestamp": df["time:timestamp"].dt.tz_convert("UTC")})
    pd.testing.assert_frame_equal(back, expected)


def test_umbra_read_and_write_dispatch_xes(tmp_path: Path) -> None:
    assert table_format("x/loans.XES.gz") == "xes" and table_format("loans.xes") == "xes"
    df = event_log()
    umbra.write(df, tmp_path / "log.xes.gz")
    pd.testing.assert_frame_equal(umbra.read(tmp_path / "log.xes.gz"), df)


def test_cases_in_order_of_first_appearance(tmp_path: Path) -> None:
    df = pd.DataFrame({"case:concept:name": ["b", "a", "b"], "concept:name": ["x", "y", "z"]})
    back = read_xes(write_xes(df, tmp_path / "log.xes"))
    expected = df.iloc[[0, 2, 1]].reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected)


def test_other_case_column_and_varying_case_attribute(tmp_path: Path) -> None:
    df = pd.DataFrame({"id": [7, 7, 8], "case:region": ["n", "s", "n"], "a": ["x", "y", "z"]})
    with pytest.warns(DataWarning, match=r"\['case:region'\] vary within a case"):
        path = write_xes(df, tmp_path / "log.xes", case="id")
    back = read_xes(path)
    assert back["id"].tolist() == [7, 7, 8] and back["case:region"].tolist() == ["n", "n", "n"]


def test_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    path = write_xes(event_log(), tmp_path / "log.xes")
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="exists already"):
        write_xes(event_log().iloc[:2], path)
    assert path.read_bytes() == before
    write_xes(event_log().iloc[:2], path, force=True)
    assert len(read_xes(path)) == 2


def test_missing_case_column_names_it_and_lists_columns(tmp_path: Path) -> None:
    df = pd.DataFrame({"case_id": [1], "activity": ["a"]})
    with pytest.raises(InputError, match=r"'case:concept:name' is not in .*'case_id', 'activity'"):
        write_xes(df, tmp_path / "log.xes")
    assert not (tmp_path / "log.xes").exists()


def test_missing_case_values_and_unstorable_characters(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing in 1 row"):
        write_xes(pd.DataFrame({"case:concept:name": ["a", None]}), tmp_path / "a.xes")
    df = pd.DataFrame({"case:concept:name": ["a"], "note": ["bell\x07"]})
    with pytest.raises(InputError, match=r"'note' .* U\+0007"):
        write_xes(df, tmp_path / "b.xes")


def test_truncated_xml_gives_the_line(tmp_path: Path) -> None:
    path = write_xes(event_log(), tmp_path / "log.xes")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match=r"log\.xes: is not well-formed XML \(line \d+"):
        read_xes(path)


def test_truncated_gzip(tmp_path: Path) -> None:
    path = write_xes(event_log(), tmp_path / "log.xes.gz")
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(InputError, match=r"log\.xes\.gz: the gzip data is damaged or truncated"):
        read_xes(path)


def test_not_xml_and_wrong_root(tmp_path: Path) -> None:
    csv = tmp_path / "table.xes"
    csv.write_text("case,activity\n1,a\n")
    with pytest.raises(InputError, match="not well-formed XML"):
        umbra.read(csv)
    html = tmp_path / "page.xes"
    html.write_text("<html><body/></html>")
    with pytest.raises(InputError, match=r"root element is <html>, expected <log>"):
        read_xes(html)


def test_dtd_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xes"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE log [<!ENTITY a "aaaa">]>\n<log>&a;</log>')
    with pytest.raises(InputError, match="DTD"):
        read_xes(path)


@pytest.mark.parametrize(
    ("element", "message"),
    [
        ('<date key="time:timestamp" value="yesterday"/>', "date attribute 'time:timestamp'"),
        ('<int key="n" value="1.5"/>', "int attribute 'n' has the value '1.5'"),
        ('<int key="n" value="99999999999999999999"/>', "64-bit range"),
        ('<float key="x" value="one"/>', "float attribute 'x' has the value 'one'"),
        ('<boolean key="b" value="yes"/>', "true or false"),
    ],
)
def test_bad_values_name_file_line_key_and_value(
    tmp_path: Path, element: str, message: str
) -> None:
    path = tmp_path / "bad.xes"
    ok = '<event><int key="n" value="1"/><float key="x" value="2"/></event>'
    path.write_text(xes_text(f"<trace>\n{ok}\n<event>\n{element}\n</event>\n</trace>"))
    with pytest.raises(InputError, match=rf"bad\.xes: line 5 .*{re.escape(message)}"):
        read_xes(path)


def test_hand_written_log_types_and_skips(tmp_path: Path) -> None:
    body = """<global scope="event"><string key="concept:name" value="?"/></global>
<string key="log-level" value="ignored"/>
<trace><string key="concept:name" value="t1"/><id key="uid" value="42"/>
  <event>
    <string key="concept:name" value="a"/><boolean key="done" value="TRUE"/>
    <float key="x" value="INF"/><int key="n" value=" 3 "/>
    <list key="items"><values><string key="i" value="1"/></values></list>
    <date key="time:timestamp" value="2020-01-01T10:00:00Z">
      <string key="source" value="clock"/>
    </date>
  </event>
  <event><string key="concept:name" value="b"/><boolean key="done" value="0"/>
    <float key="x" value="2"/><int key="n" value="-1"/></event>
</trace>
<trace><string key="concept:name" value="empty"/></trace>"""
    path = tmp_path / "hand.xes.gz"
    path.write_bytes(gzip.compress(xes_text(body).encode()))
    with pytest.warns(DataWarning) as record:
        df = read_xes(path)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert "['items', 'source']" in messages[0] and "1 trace(s) without events" in messages[1]
    assert list(df.columns) == [
        "case:concept:name",
        "concept:name",
        "done",
        "x",
        "n",
        "time:timestamp",
        "case:uid",
    ]
    assert df["done"].tolist() == [True, False] and df["done"].dtype == bool
    assert df["x"].tolist() == [np.inf, 2.0] and df["n"].dtype == np.int64
    assert df["case:uid"].tolist() == ["42", "42"]
    assert str(df["time:timestamp"].dtype) == "datetime64[ns, UTC]"


# ------------------------------------------------------------------------------ real event logs


def count_tags(path: Path) -> tuple[int, int]:
    """Independent counts of ``<event`` and ``<trace`` start tags in the (gzipped) file."""
    data = gzip.decompress(path.read_bytes())
    return len(re.findall(rb"<event[\s>]", data)), len(re.findall(rb"<trace[\s>]", data))


REAL_LOGS = [
    pytest.param(
        "eventlog_receipt/receipt.xes.gz",
        "eventlog_receipt/receipt_events.csv",
        8_577,
        1_434,
        id="receipt",
    ),
    pytest.param(
        "eventlog_bpic2013_incidents/BPI_Challenge_2013_incidents.xes.gz",
        "eventlog_bpic2013_incidents/bpic2013_incidents_events.csv.gz",
        65_533,
        7_554,
        id="bpic2013_incidents",
    ),
    pytest.param(
        "eventlog_bpic2012/BPI_Challenge_2012.xes.gz",
        "eventlog_bpic2012/bpic2012_events.csv.gz",
        262_200,
        13_087,
        id="bpic2012",
    ),
]


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is absent")
@pytest.mark.parametrize(("xes", "csv", "events", "cases"), REAL_LOGS)
def test_real_log_counts_and_agrees_with_flat_csv(
    xes: str, csv: str, events: int, cases: int
) -> None:
    path = SHARED / xes
    assert count_tags(path) == (events, cases)  # what PROVENANCE.md states
    start = time.perf_counter()
    with pytest.warns(DataWarning, match="different UTC offsets"):
        df = read_xes(path)
    assert time.perf_counter() - start < 30
    assert len(df) == events and df["case:concept:name"].nunique() == cases
    flat = pd.read_csv(SHARED / csv, dtype={"case_id": str, "resource": str})
    assert df["case:concept:name"].tolist() == flat["case_id"].tolist()
    assert df["concept:name"].tolist() == flat["activity"].tolist()
    stamps = pd.to_datetime(flat["timestamp"], utc=True, format="ISO8601")
    pd.testing.assert_series_equal(df["time:timestamp"], stamps, check_names=False)
    assert df["org:resource"].isna().sum() == flat["resource"].isna().sum()
