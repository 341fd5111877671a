"""Metadata detection, provenance, overrides, validation and versioned JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from umbra import Metadata
from umbra.exceptions import (
    DataWarning,
    IncompatibleVersionError,
    InputError,
    MetadataError,
    OutputExistsError,
    PrivacyLeakWarning,
)


def kinds(df: pd.DataFrame) -> dict[object, str]:
    return {c.name: c.kind for c in Metadata.detect(df, warn=False)}


def test_detects_every_kind(odd: pd.DataFrame) -> None:
    meta = Metadata.detect(odd, warn=False)
    assert {c.name: c.kind for c in meta} == {
        "x y (z)": "numerical", 0: "numerical", "ünï": "categorical", "flag": "boolean",
        "when": "datetime", "day": "datetime", "s": "categorical", "empty": "categorical",
        "const": "numerical",
    }  # fmt: skip
    assert meta["x y (z)"].integer and meta["x y (z)"].nullable
    assert meta[0].decimals == 2 and meta[0].bounds is not None
    assert meta["ünï"].categories == ["a", "b", "c", "d"]
    assert meta["when"].timezone == "Europe/Berlin"
    assert meta["day"].datetime_format == "%d/%m/%Y"


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["2024-01-31", "2023-02-01"], "%Y-%m-%d"),
        (["01/31/2024", "02/01/2023"], "%m/%d/%Y"),
        (["31.01.2024", "01.02.2023"], "%d.%m.%Y"),
        (["2024-01-31T10:00:00+01:00", "2023-02-01T09:30:00+01:00"], "%Y-%m-%dT%H:%M:%S%:z"),
        (["31 Jan 2024", "01 Feb 2023"], "%d %b %Y"),
    ],
)
def test_dates_as_text(values: list[str], fmt: str) -> None:
    spec = Metadata.detect(pd.DataFrame({"d": values * 10}), warn=False)["d"]
    assert (spec.kind, spec.datetime_format) == ("datetime", fmt)


def test_numbers_are_not_dates() -> None:
    assert kinds(pd.DataFrame({"n": ["20240131", "20230201"]})) == {"n": "categorical"}


def test_personal_data_and_identifiers() -> None:
    n = 40
    df = pd.DataFrame(
        {
            "email": [f"person{i}@example.org" for i in range(n)],
            "phone": [f"+1 (555) 010-{i:04d}" for i in range(n)],
            "full name": [f"Anna{chr(97 + i % 26)} Smith{chr(97 + i // 26)}" for i in range(n)],
            "note": [
                f"patient {i} reported mild pain after the second visit to clinic" for i in range(n)
            ],
            "patient_id": np.arange(1000, 1000 + n),
            "code": [f"AB{i:05d}" for i in range(n)],
        }
    )
    meta = Metadata.detect(df, warn=False)
    assert [c.kind for c in meta] == ["pii", "pii", "pii", "pii", "id", "id"]
    assert [c.pii_type for c in meta][:4] == ["email", "phone", "name", "text"]
    assert meta["code"].id_pattern == "AAddddd"


def test_mixed_types_warn_and_stay_categorical() -> None:
    with pytest.warns(DataWarning, match="mixes value types"):
        meta = Metadata.detect(pd.DataFrame({"m": [1, "a", 2.5, "b"]}), warn=False)
    assert meta["m"].kind == "categorical"


def test_numbers_mixed_with_text_suggest_na_values() -> None:
    df = pd.DataFrame({"age": ["31", "42", "unknown", "28", "55"]})
    with pytest.warns(DataWarning, match="na_values"):
        assert Metadata.detect(df, warn=False)["age"].kind == "categorical"


def test_time_spans_are_refused_clearly() -> None:
    df = pd.DataFrame({"span": pd.to_timedelta([1, 2], unit="D")})
    with pytest.raises(InputError, match="total_seconds"):
        Metadata.detect(df)


def test_provenance_and_leak_warning(demo: pd.DataFrame) -> None:
    with pytest.warns(PrivacyLeakWarning, match="learned from the data"):
        meta = Metadata.detect(demo)
    assert meta["age"].bounds_source == "data"
    meta.update("age", bounds=(0, 120))
    assert (meta["age"].bounds, meta["age"].bounds_source) == ((0, 120), "public")
    assert "bounds of 'age'" not in meta.learned_from_data()


def test_update_rejects_nonsense() -> None:
    meta = Metadata.detect(pd.DataFrame({"a": [1, 2]}), warn=False)
    with pytest.raises(MetadataError, match="low > high"):
        meta.update("a", bounds=(5, 1))
    with pytest.raises(MetadataError, match="unknown field"):
        meta.update("a", colour="red")
    with pytest.raises(MetadataError, match="no column 'b'"):
        meta.update("b", bounds=(0, 1))
    assert meta["a"].bounds == (1, 2)


def test_validate_gathers_every_problem() -> None:
    meta = Metadata.detect(pd.DataFrame({"a": [1, 2], "c": ["x", "y"]}), warn=False)
    meta.update("a", bounds=(0, 10)).update("c", categories=["x", "y"])
    bad = pd.DataFrame({"a": [1, 50, None], "c": ["x", "z", "y"], "extra": [0, 0, 0]})
    with pytest.raises(MetadataError) as info:
        meta.validate(bad)
    text = str(info.value)
    assert len(info.value.problems) == 4
    assert "outside the declared bounds" in text and "'z'" in text
    assert "nullable=False" in text and "'extra'" in text


def test_duplicate_and_odd_labels() -> None:
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(InputError, match="duplicate column names"):
        Metadata.detect(df)
    with pytest.raises(InputError, match="neither text nor integers"):
        Metadata.detect(pd.DataFrame({("a", "b"): [1]}))


def test_json_round_trip(tmp_path: Path, odd: pd.DataFrame) -> None:
    meta = Metadata.detect(odd, warn=False)
    meta.update("x y (z)", bounds=(0, 100))
    path = meta.save(tmp_path / "meta.json")
    assert Metadata.load(path) == meta
    assert Metadata.load(path)[0].name == 0
    with pytest.raises(OutputExistsError):
        meta.save(path)


def test_json_version_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    payload = Metadata.detect(pd.DataFrame({"a": [1]}), warn=False).to_dict()
    path.write_text(json.dumps({**payload, "version": 99}))
    with pytest.raises(IncompatibleVersionError, match=r"version 99.*reads version 1"):
        Metadata.load(path)
    path.write_text("{not json")
    with pytest.raises(Exception, match="not valid JSON"):
        Metadata.load(path)


def test_many_levels_are_categories() -> None:
    df = pd.DataFrame({"level": [f"L{i % 3000}x" for i in range(9000)]})
    assert len(Metadata.detect(df, warn=False)["level"].categories or []) == 3000


def test_one_bad_date_is_named_at_fit() -> None:
    import umbra

    values = [f"2023-01-{d:02d}" for d in range(1, 29)] * 10 + ["2023-02-30"]
    df = pd.DataFrame({"visit": values})
    with pytest.warns(DataWarning, match="2023-02-30"):
        meta = Metadata.detect(df, warn=False)
    assert meta["visit"].kind == "datetime"
    with pytest.raises(MetadataError, match=r"values \['2023-02-30'\] do not match"):
        umbra.create("copula").fit(df, metadata=meta)


def test_ambiguous_month_day_warns() -> None:
    with pytest.warns(DataWarning, match="day/month"):
        spec = Metadata.detect(pd.DataFrame({"d": ["1/2/2023", "3/4/2023"] * 5}), warn=False)["d"]
    assert spec.datetime_format == "%m/%d/%Y"


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (pd.Series([[1, 2], [3]] * 5), "list cells"),
        (pd.Series(list(pd.period_range("2020-01", periods=10, freq="M")), dtype=object), "Period"),
        (pd.Series(np.arange(10) + 1j), "complex numbers"),
    ],
)
def test_values_that_cannot_be_restored(column: pd.Series, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Metadata.detect(pd.DataFrame({"x": column}))


def test_repeated_identifiers_are_not_learned() -> None:
    ids = np.repeat(np.arange(300), 3)
    df = pd.DataFrame({"patient_nbr": ids, "case_id": [f"c-{i}" for i in ids],
                       "admission_type_id": ids % 8})  # fmt: skip
    kinds = {c.name: c.kind for c in Metadata.detect(df, warn=False)}
    assert kinds == {"patient_nbr": "id", "case_id": "id", "admission_type_id": "numerical"}


def test_edited_metadata_is_checked_against_the_data() -> None:
    df = pd.DataFrame({"purpose": ["car", "tv", "car"], "age": [20, 40, 60]})
    meta = Metadata.detect(df, warn=False)
    meta.columns[0].kind = "boolean"
    meta.columns[1].bounds = (30, 50)
    meta.columns[1].dtype = "int128"
    with pytest.raises(MetadataError) as info:
        meta.validate(df)
    text = str(info.value)
    assert "declared boolean" in text and "outside the declared bounds" in text
    assert "'int128' is not a pandas dtype" in text
