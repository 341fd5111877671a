"""Read and write tables by file extension, refusing to overwrite and writing atomically.

Example:
    >>> import pandas as pd, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = write(pd.DataFrame({"a": [1, 2]}), path)
    >>> read(path)["a"].tolist()
    [1, 2]
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from umbra._files import atomic_write
from umbra.exceptions import DataWarning, InputError

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = CSV_SUFFIXES + PARQUET_SUFFIXES


def table_format(path: str | os.PathLike[str]) -> str:
    """Return ``"csv"`` or ``"parquet"`` for ``path``'s extension, or raise :class:`InputError`.

    Example:
        >>> table_format("data/patients.csv.gz")
        'csv'
    """
    name = Path(path).name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise InputError(
        f"{path}: unsupported file extension. Expected one of {', '.join(SUPPORTED)}; "
        "rename the file or convert it to CSV or Parquet."
    )


def read(path: str | os.PathLike[str], *, na_values: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet table, with clear errors for missing, empty or malformed files.

    ``na_values`` are extra strings read as missing in CSV files (for example ``["?"]``).
    """
    p = Path(path)
    fmt = table_format(p)
    if not p.exists():
        raise InputError(f"{p}: no such file. Check the path (working directory: {Path.cwd()}).")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a {fmt.upper()} file.")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: the file is empty (0 bytes); expected a header and rows.")
    df = _read_csv(p, na_values) if fmt == "csv" else _read_parquet(p)
    if df.shape[1] == 0:
        raise InputError(f"{p}: no columns found; expected a table with a header row.")
    if len(df) == 0:
        raise InputError(
            f"{p}: has a header ({df.shape[1]} columns) but no rows; "
            "a synthesizer needs real rows to learn from."
        )
    return df


def _read_csv(p: Path, na_values: Sequence[str] | None) -> pd.DataFrame:
    sep = "\t" if ".tsv" in p.name.lower() else ","
    header = _csv_header(p, sep)
    duplicates = [name for name, count in Counter(header).items() if count > 1]
    if duplicates:
        raise InputError(
            f"{p}: duplicate column names {duplicates}; every column needs a unique name. "
            "Rename them in the header."
        )
    try:
        return pd.read_csv(p, sep=sep, na_values=list(na_values or []), low_memory=False)
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise InputError(f"{p}: cannot be parsed as {sep!r}-separated text: {exc}") from None


def _csv_header(p: Path, sep: str) -> list[str]:
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"{p}: cannot be read as UTF-8 text: {exc}") from None
    if not first.strip():
        raise InputError(f"{p}: the first line is blank; expected a header row with column names.")
    return next(csv.reader(io.StringIO(first), delimiter=sep))


def _read_parquet(p: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(p)
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        raise InputError(f"{p}: cannot be read as Parquet: {exc}") from None


def write(df: pd.DataFrame, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``df`` by the extension of ``path`` through a temporary file and a rename.

    An existing file is replaced only with ``force=True``; an interrupted write leaves the
    destination untouched.
    """
    p = Path(path)
    fmt = table_format(p)
    lower = p.name.lower()

    def writer(tmp: str) -> None:
        if fmt == "csv":
            compression = "gzip" if lower.endswith(".gz") else None
            df.to_csv(
                tmp, index=False, sep="\t" if ".tsv" in lower else ",", compression=compression
            )
        else:
            _parquet_frame(df).to_parquet(tmp, index=False)

    return atomic_write(p, writer, force=force)


def _parquet_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Parquet needs string column names: convert others, and say so."""
    odd = [c for c in df.columns if not isinstance(c, str)]
    if not odd:
        return df
    warnings.warn(
        f"Parquet stores column names as text: {odd} are written as {[str(c) for c in odd]}.",
        DataWarning,
        stacklevel=3,
    )
    return df.rename(columns={c: str(c) for c in odd})
