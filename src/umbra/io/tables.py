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
from umbra.io.eventlog import XES_SUFFIXES, read_xes, write_xes

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = CSV_SUFFIXES + PARQUET_SUFFIXES + XES_SUFFIXES


def table_format(path: str | os.PathLike[str]) -> str:
    """Return ``"csv"``, ``"parquet"`` or ``"xes"`` for ``path``'s extension, else raise.

    Example:
        >>> table_format("data/patients.csv.gz"), table_format("logs/loans.xes.gz")
        ('csv', 'xes')
    """
    name = Path(path).name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(XES_SUFFIXES):
        return "xes"
    raise InputError(
        f"{path}: unsupported file extension. Expected one of {', '.join(SUPPORTED)}; "
        "rename the file or convert it to CSV, Parquet or XES."
    )


def read(
    path: str | os.PathLike[str], *, na_values: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Read a CSV, Parquet or XES table, with clear errors for missing, empty or malformed files.

    In CSV files only empty cells are missing, plus the strings in ``na_values`` (for example
    ``["?"]`` or ``["NA"]``): text such as ``None`` or ``NA`` stays a value unless you say so.
    The separator of ``.csv`` files is detected among comma, semicolon, tab and bar. XES event
    logs are read by :func:`umbra.io.eventlog.read_xes`, one row per event.
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a directory; give a CSV or Parquet file.")
    fmt = table_format(p)
    if not p.exists():
        raise InputError(f"{p}: no such file. Check the path (working directory: {Path.cwd()}).")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: the file is empty (0 bytes); expected a header and rows.")
    extra = [na_values] if isinstance(na_values, str) else list(na_values or [])
    if fmt == "csv":
        df = _read_csv(p, extra)
    elif fmt == "parquet":
        df = _read_parquet(p)
    else:
        df = read_xes(p)
    if df.shape[1] == 0:
        raise InputError(f"{p}: no columns found; expected a table with a header row.")
    if len(df) == 0:
        raise InputError(
            f"{p}: has a header ({df.shape[1]} columns) but no rows; "
            "a synthesizer needs real rows to learn from."
        )
    return df


def _read_csv(p: Path, na_values: list[str]) -> pd.DataFrame:
    sample = _head(p)
    sep = "\t" if ".tsv" in p.name.lower() else _sniff(sample)
    header = next(csv.reader(io.StringIO(sample.splitlines()[0]), delimiter=sep))
    duplicates = [name for name, count in Counter(header).items() if count > 1]
    if duplicates:
        raise InputError(
            f"{p}: duplicate column names {duplicates}; every column needs a unique name. "
            "Rename them in the header."
        )
    blank = [i + 1 for i, name in enumerate(header) if not name.strip()]
    if blank:
        raise InputError(f"{p}: header cell(s) {blank} have no column name; name every column.")
    options = {"decimal": ","} if sep == ";" else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                p,
                sep=sep,
                index_col=False,
                keep_default_na=False,
                na_values=["", *na_values],
                low_memory=False,
                **options,
            )
    except pd.errors.ParserWarning:
        raise InputError(
            f"{p}: some rows have more fields than the header has names; fix those rows or "
            "add the missing column names."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise InputError(f"{p}: cannot be parsed as {sep!r}-separated text: {exc}") from None


def _head(p: Path, size: int = 65_536) -> str:
    """The first bytes of a (possibly gzipped) text file, checked to start with a header."""
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8-sig", newline="") as handle:
            text = handle.read(size)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"{p}: cannot be read as UTF-8 text: {exc}") from None
    if not text.strip() or not text.splitlines()[0].strip():
        raise InputError(f"{p}: the first line is blank; expected a header row with column names.")
    return text


def _sniff(sample: str) -> str:
    """The separator: comma unless the header clearly uses semicolons, tabs or bars."""
    first = sample.splitlines()[0]
    counts = {sep: first.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def _read_parquet(p: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(p)
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        raise InputError(f"{p}: cannot be read as Parquet: {exc}") from None


def write(df: pd.DataFrame, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``df`` by the extension of ``path`` through a temporary file and a rename.

    XES files are written by :func:`umbra.io.eventlog.write_xes` (cases from ``case:concept:name``).

    An existing file is replaced only with ``force=True``; an interrupted write leaves the
    destination untouched.
    """
    p = Path(path)
    fmt = table_format(p)
    lower = p.name.lower()
    if fmt == "xes":
        return write_xes(df, p, force=force)

    def writer(tmp: str) -> None:
        if fmt == "parquet":
            _parquet_frame(df).to_parquet(tmp, index=False)
            return
        sep = "\t" if ".tsv" in lower else ","
        if not lower.endswith(".gz"):
            df.to_csv(tmp, index=False, sep=sep)
            return
        with (
            open(tmp, "wb") as raw,
            gzip.GzipFile(p.name[:-3], "wb", fileobj=raw, mtime=0) as packed,
            io.TextIOWrapper(packed, encoding="utf-8", newline="") as text,
        ):
            df.to_csv(text, index=False, sep=sep)

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
