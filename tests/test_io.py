"""Reading and writing tables: every bad file gets a clear error; no file is overwritten."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import umbra
from umbra._files import atomic_write
from umbra.exceptions import DataWarning, InputError, OutputExistsError


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        umbra.read(tmp_path / "absent.csv")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputError, match="empty"):
        umbra.read(path)


def test_header_only(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b,c\n")
    with pytest.raises(InputError, match="no rows"):
        umbra.read(path)


def test_blank_first_line(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n")
    with pytest.raises(InputError, match="blank"):
        umbra.read(path)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "table.xlsx"
    path.write_text("a\n1\n")
    with pytest.raises(InputError, match=r"unsupported file extension.*\.csv"):
        umbra.read(path)


def test_duplicate_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(InputError, match=r"duplicate column names \['a'\]"):
        umbra.read(path)


def test_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="directory"):
        umbra.read(folder)


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="Parquet"):
        umbra.read(path)


def test_na_values(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("a,b\n1,x\n?,y\n")
    assert umbra.read(path, na_values=["?"])["a"].isna().sum() == 1


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.tsv", "t.parquet"])
def test_round_trip_by_extension(tmp_path: Path, name: str) -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", np.nan]})
    path = umbra.write(df, tmp_path / name)
    pd.testing.assert_frame_equal(umbra.read(path).fillna("NA"), df.fillna("NA"))


def test_never_overwrites_without_force(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("precious\n")
    with pytest.raises(OutputExistsError, match="--force"):
        umbra.write(pd.DataFrame({"a": [1]}), path)
    assert path.read_text() == "precious\n"
    umbra.write(pd.DataFrame({"a": [1]}), path, force=True)
    assert umbra.read(path)["a"].tolist() == [1]


def test_interrupted_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old\n")

    def crash(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash, force=True)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_missing_output_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        umbra.write(pd.DataFrame({"a": [1]}), tmp_path / "nope" / "out.csv")


def test_parquet_with_integer_labels_warns(tmp_path: Path) -> None:
    with pytest.warns(DataWarning, match="column names as text"):
        path = umbra.write(pd.DataFrame({0: [1], "b": [2]}), tmp_path / "t.parquet")
    assert list(umbra.read(path).columns) == ["0", "b"]


def test_semicolons_and_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text("a;b;c\n1;2,5;x\n2;3;y\n")
    df = umbra.read(path)
    assert list(df.columns) == ["a", "b", "c"] and df["b"].tolist() == [2.5, 3.0]


def test_rows_longer_than_the_header(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(InputError, match="more fields than the header"):
        umbra.read(path)


def test_blank_column_name(tmp_path: Path) -> None:
    path = tmp_path / "blank_name.csv"
    path.write_text("a,,c\n1,2,3\n")
    with pytest.raises(InputError, match=r"header cell\(s\) \[2\] have no column name"):
        umbra.read(path)


def test_text_like_none_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "nones.csv"
    path.write_text("a,b\nNone,1\nNA,2\n,3\n?,4\n")
    assert umbra.read(path)["a"].tolist()[:2] == ["None", "NA"]
    assert umbra.read(path)["a"].isna().sum() == 1
    assert umbra.read(path, na_values="?")["a"].isna().sum() == 2


def test_gzip_output_is_clean_and_readable(tmp_path: Path) -> None:
    path = umbra.write(pd.DataFrame({"a": [1, 2]}), tmp_path / "t.csv.gz")
    header = path.read_bytes()[:40]
    assert b".part" not in header and b"t.csv" in header
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # like open(), not mkstemp's 0600
