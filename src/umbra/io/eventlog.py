"""Read and write event logs in XES (IEEE 1849), plain or gzipped, as one row per event.

The frame follows the process-mining convention: trace attributes carry the prefix ``case:``
(``case:concept:name`` is the case id), event attributes keep their keys (``concept:name`` the
activity, ``time:timestamp``, ``org:resource``, ``lifecycle:transition``, ...). Dates keep their
UTC offset; a column whose offsets differ (summer and winter time) is converted to UTC.

Example:
    >>> import pandas as pd, tempfile, pathlib
    >>> log = pd.DataFrame({
    ...     "case:concept:name": ["c1", "c1", "c2"],
    ...     "concept:name": ["register", "approve", "register"],
    ...     "time:timestamp": pd.to_datetime(["2024-03-01T09:00:00+01:00",
    ...         "2024-03-01T10:30:00+01:00", "2024-03-02T08:15:00+01:00"]),
    ... })
    >>> path = write_xes(log, pathlib.Path(tempfile.mkdtemp()) / "log.xes.gz")
    >>> back = read_xes(path)
    >>> back["concept:name"].tolist()
    ['register', 'approve', 'register']
    >>> str(back["time:timestamp"].dtype)
    'datetime64[ns, UTC+01:00]'
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import math
import os
import re
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal, NoReturn
from xml.parsers import expat

import numpy as np
import pandas as pd

from umbra._files import atomic_write, check_output
from umbra.exceptions import DataWarning, InputError

XES_SUFFIXES = (".xes", ".xes.gz")
CASE_PREFIX = "case:"
CASE_ID = "case:concept:name"
_TYPES = frozenset({"string", "date", "int", "float", "boolean", "id"})
_CHUNK = 1 << 20
_CONTROL = {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
_OFFSET = r"T[^+\-Z]*(Z|[+-]\d{2}:?\d{2})$"
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"} | _CONTROL)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_UNITS: tuple[Literal["ms", "us", "ns"], ...] = ("ms", "us", "ns")
_EXTENSION = '\t<extension name="{}" prefix="{}" uri="http://www.xes-standard.org/{}.xesext"/>\n'
_PREFIXES = dict(Concept="concept", Time="time", Organizational="org", Lifecycle="lifecycle")
_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">\n'
    + "".join(_EXTENSION.format(name, p, p) for name, p in _PREFIXES.items())
)


class _Level:
    """Attributes of one level (events or traces), as sparse raw text per key."""

    def __init__(self) -> None:
        self.count = 0
        self.lines: list[int] = []
        self.rows: dict[str, list[int]] = {}
        self.values: dict[str, list[str]] = {}
        self.types: dict[str, set[str]] = {}

    def open(self, line: int) -> None:
        self.count += 1
        self.lines.append(line)

    def add(self, typ: str, key: str, value: str) -> None:
        rows = self.rows.get(key)
        if rows is None:
            rows, self.values[key], self.types[key] = [], [], set()
            self.rows[key] = rows
        self.types[key].add(typ)
        rows.append(self.count - 1)
        self.values[key].append(value)


class _Collector:
    """Expat handlers that stream an XES file into two :class:`_Level` stores."""

    def __init__(self, path: Path, parser: Any) -> None:
        self.path, self.parser = path, parser
        self.events, self.traces = _Level(), _Level()
        self.trace_of_event: list[int] = []
        self.stack: list[str] = []
        self.skipped: dict[str, None] = {}
        self.empty_traces = 0
        self.notes: dict[str, list[str]] = {"mixed": [], "naive": []}
        self._first_event = 0
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.StartDoctypeDeclHandler = self.refuse_doctype
        parser.EntityDeclHandler = self.refuse_doctype

    def start(self, name: str, attrs: dict[str, str]) -> None:
        ctx = self.stack[-1] if self.stack else ""
        if ":" in name:
            name = name.rpartition(":")[2]
        push = name
        if name in _TYPES and (ctx == "event" or ctx == "trace"):
            self.attribute(self.events if ctx == "event" else self.traces, name, attrs)
            push = "attr"
        elif name == "event" and ctx == "trace":
            self.events.open(self.parser.CurrentLineNumber)
            self.trace_of_event.append(self.traces.count - 1)
        elif name == "trace" and ctx == "log":
            self.traces.open(self.parser.CurrentLineNumber)
            self._first_event = self.events.count
        elif not ctx:
            if name != "log":
                raise InputError(
                    f"{self.path}: the root element is <{name}>, expected <log>: this is not "
                    "an XES event log. Give an XES file (or a CSV event log)."
                )
        else:
            if ctx in ("event", "trace", "attr"):
                self.skipped[attrs.get("key", f"<{name}>")] = None
            push = "skip"
        self.stack.append(push)

    def end(self, _name: str) -> None:
        if self.stack.pop() == "trace" and self.events.count == self._first_event:
            self.empty_traces += 1

    def attribute(self, level: _Level, typ: str, attrs: dict[str, str]) -> None:
        key, value = attrs.get("key"), attrs.get("value")
        if key is None or value is None:
            missing = "key" if key is None else "value"
            raise InputError(
                f"{self.path}: line {self.parser.CurrentLineNumber}: a <{typ}> attribute has "
                f'no {missing}="..."; every XES attribute needs a key and a value.'
            )
        level.add(typ, key, value)

    def refuse_doctype(self, *_args: object) -> NoReturn:
        raise InputError(
            f"{self.path}: line {self.parser.CurrentLineNumber}: declares a DTD or entities; "
            "XES files need neither, and Umbra refuses them for safety. Remove the <!DOCTYPE>."
        )


def read_xes(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an XES event log (plain, or gzipped) into one row per event, in file order.

    Trace attributes become columns ``case:<key>``, event attributes keep their keys. Types:
    string and id -> text, date -> datetime (keeping a single UTC offset; mixed offsets become
    UTC with a :class:`DataWarning`; dates without offset stay naive), int -> int64 (Int64 with
    gaps), float -> float64, boolean -> bool (boolean with gaps). Nested, list and container
    attributes and traces without events are skipped with a warning. Columns: the case id
    first, then event attributes, then the other trace attributes, each in order of appearance.
    """
    p = Path(path)
    parser = expat.ParserCreate()
    collector = _Collector(p, parser)
    try:
        with _open_binary(p) as handle:
            while chunk := handle.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise InputError(
            f"{p}: is not well-formed XML (line {exc.lineno}, column {exc.offset + 1}: "
            f"{expat.ErrorString(exc.code)}); expected a complete XES event log. The file may "
            "be truncated or not XES at all."
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{p}: the gzip data is damaged or truncated ({exc}).") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot be read ({exc}).") from None
    return _frame(collector)


def _open_binary(p: Path) -> gzip.GzipFile | io.BufferedReader:
    """Open ``p`` for reading, unpacking gzip when its first bytes say so."""
    if p.is_dir():
        raise InputError(f"{p}: is a directory; give an XES file.")
    if not p.is_file():
        raise InputError(f"{p}: no such file. Check the path (working directory: {Path.cwd()}).")
    with open(p, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(p, "rb") if magic == b"\x1f\x8b" else open(p, "rb")


def _frame(c: _Collector) -> pd.DataFrame:
    """The flat frame from what the collector gathered, warning about what was skipped."""
    if c.skipped:
        names = list(c.skipped)
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        _warn(
            f"{c.path}: skipped nested, list or container attributes {names[:10]}{more}; "
            "only flat attributes become columns."
        )
    if c.empty_traces:
        _warn(f"{c.path}: skipped {c.empty_traces} trace(s) without events.")
    events = {key: _column(c, c.events, key, key) for key in c.events.rows}
    take = np.asarray(c.trace_of_event, dtype=np.intp)
    cases = {
        CASE_PREFIX + key: _column(c, c.traces, key, CASE_PREFIX + key).iloc[take]
        for key in c.traces.rows
    }
    first = {CASE_ID: cases.pop(CASE_ID)} if CASE_ID in cases else {}
    columns = {k: v.reset_index(drop=True) for k, v in (first | events | cases).items()}
    if c.notes["mixed"]:
        _warn(
            f"{c.path}: dates carry different UTC offsets (summer and winter time?) in "
            f"{', '.join(c.notes['mixed'])}, so these columns are converted to UTC; the "
            "instants are unchanged."
        )
    if c.notes["naive"]:
        _warn(f"{c.path}: {', '.join(c.notes['naive'])}; these dates are read as UTC.")
    if not columns:
        return pd.DataFrame(index=pd.RangeIndex(len(take)))
    return pd.DataFrame(columns)


class _BadValueError(Exception):
    """A raw value (at ``row`` of its level) that does not parse as its declared type."""

    def __init__(self, row: int, expected: str) -> None:
        self.row, self.expected = int(row), expected


def _column(c: _Collector, level: _Level, key: str, name: str) -> pd.Series:
    """Convert one attribute's raw text into a typed column of ``level.count`` rows."""
    raw = np.full(level.count, np.nan, dtype=object)
    raw[level.rows[key]] = level.values[key]
    text = pd.Series(raw)
    types = level.types[key]
    typ = next(iter(types)) if len(types) == 1 else "float" if types <= {"int", "float"} else ""
    if not typ:
        _warn(f"{c.path}: attribute {name!r} has several types {sorted(types)}; read as text.")
        typ = "string"
    try:
        if typ == "date":
            return _dates(text, name, c.notes)
        return _CONVERTERS[typ](text) if typ in _CONVERTERS else text
    except _BadValueError as bad:
        where = "event" if level is c.events else "trace"
        raise InputError(
            f"{c.path}: line {level.lines[bad.row]} (the <{where}> starting there): {typ} "
            f"attribute {key!r} has the value {raw[bad.row]!r}, which is not {bad.expected}. "
            f"Fix the value in the file, or declare the attribute as <string>."
        ) from None


def _check(ok: pd.Series, expected: str) -> None:
    """Raise :class:`_BadValueError` at the first ``False`` in ``ok`` (indexed by row)."""
    if not ok.all():
        raise _BadValueError(ok.index[~ok.to_numpy(dtype=bool)][0], expected)


def _scatter(values: np.ndarray, rows: np.ndarray, n: int, masked: Any) -> pd.Series:
    """``values`` at ``rows`` of an ``n``-row column; a masked array when rows are missing."""
    data = np.zeros(n, dtype=values.dtype)
    data[rows] = values
    if len(rows) == n:
        return pd.Series(data)
    mask = np.ones(n, dtype=bool)
    mask[rows] = False
    return pd.Series(masked(data, mask))


def _ints(text: pd.Series) -> pd.Series:
    present = text.dropna()
    _check(present.str.fullmatch(r"\s*[+-]?\d+\s*"), "an integer")
    _check(present.map(lambda v: -(2**63) <= int(v) < 2**63), "an integer within the 64-bit range")
    numbers = present.astype(np.int64).to_numpy()
    return _scatter(numbers, present.index.to_numpy(), len(text), pd.arrays.IntegerArray)


def _floats(text: pd.Series) -> pd.Series:
    present = text.dropna()
    numbers = pd.to_numeric(present, errors="coerce").astype(np.float64)
    _check(numbers.notna() | present.str.strip().str.lower().eq("nan"), "a number")
    out = np.full(len(text), np.nan)
    out[present.index.to_numpy()] = numbers.to_numpy()
    return pd.Series(out)


def _booleans(text: pd.Series) -> pd.Series:
    present = text.dropna()
    truth = {"true": True, "false": False, "1": True, "0": False}
    flags = present.str.strip().str.lower().map(truth)
    _check(flags.notna(), "true or false")
    values = flags.to_numpy(dtype=bool)
    return _scatter(values, present.index.to_numpy(), len(text), pd.arrays.BooleanArray)


def _dates(text: pd.Series, name: str, notes: dict[str, list[str]]) -> pd.Series:
    """Parse ISO-8601 dates, keeping one shared UTC offset, else converting to UTC."""
    present = text.dropna()
    offsets = present.str.extract(_OFFSET, expand=False)
    naive = int(offsets.isna().sum())
    aware = naive < len(present)
    parsed = pd.to_datetime(text, format="ISO8601", utc=aware, errors="coerce")
    _check(parsed.notna() | text.isna(), "an ISO-8601 date such as 2011-10-01T00:38:44.546+02:00")
    minutes = sorted({_minutes(o) for o in offsets.dropna().unique()})
    if aware and naive:
        notes["naive"].append(f"{naive} of {len(present)} dates in {name!r} have no UTC offset")
    elif len(minutes) > 1:
        notes["mixed"].append(f"{name!r} ({', '.join(_offset_text(m) for m in minutes)})")
    elif aware and minutes != [0]:
        parsed = parsed.dt.tz_convert(dt.timezone(dt.timedelta(minutes=minutes[0])))
    return parsed


def _minutes(offset: str) -> int:
    """Minutes east of UTC of ``Z``, ``+02:00`` or ``-0530``.

    Example:
        >>> _minutes("Z"), _minutes("+02:00"), _minutes("-0530")
        (0, 120, -330)
    """
    if offset == "Z":
        return 0
    digits = offset[1:].replace(":", "")
    value = int(digits[:2]) * 60 + int(digits[2:])
    return -value if offset[0] == "-" else value


def _offset_text(minutes: int) -> str:
    """``+HH:MM`` for minutes east of UTC.

    Example:
        >>> _offset_text(120), _offset_text(-330)
        ('+02:00', '-05:30')
    """
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(int(minutes)), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _warn(message: str) -> None:
    warnings.warn(message, DataWarning, stacklevel=4)


_CONVERTERS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "int": _ints,
    "float": _floats,
    "boolean": _booleans,
}


def write_xes(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    case: str = CASE_ID,
    force: bool = False,
) -> Path:
    """Write ``df`` as an XES log: one trace per value of ``case``, gzipped for ``.gz`` paths.

    Traces follow the order of each case's first row, events the frame's order within a case.
    Columns named ``case:<key>`` become trace attributes ``<key>`` (from the case's first row),
    the others event attributes. Types follow the dtypes (datetime -> date with its UTC offset,
    integer -> int, float -> float, bool -> boolean, anything else -> string); missing values
    are left out. An existing file is replaced only with ``force=True``.
    """
    p = Path(path)
    check_output(p, force=force)
    codes = _case_codes(df, case)
    order = np.argsort(codes, kind="stable")
    names = [str(c) for c in df.columns]
    trace_cols = [c for c, n in zip(df.columns, names, strict=True) if n.startswith(CASE_PREFIX)]
    event_cols = [c for c in df.columns if c not in trace_cols]
    _warn_varying(df, codes, trace_cols)
    firsts = np.unique(codes, return_index=True)[1]
    heads = "\t<trace>\n" + _attributes(df.iloc[firsts], trace_cols, "\t\t", len(CASE_PREFIX))
    bodies = ("\t\t<event>\n" + _attributes(df, event_cols, "\t\t\t") + "\t\t</event>\n")[order]
    ends = np.flatnonzero(np.diff(codes[order])) + 1

    def writer(tmp: str) -> None:
        with _open_text(tmp, p) as out:
            out.write(_HEADER)
            for head, chunk in zip(heads, np.split(bodies, ends) if len(df) else [], strict=True):
                out.write(head)
                out.write("".join(chunk))
                out.write("\t</trace>\n")
            out.write("</log>\n")

    return atomic_write(p, writer, force=force)


def _case_codes(df: pd.DataFrame, case: str) -> np.ndarray:
    """Integer codes of the case column in order of first appearance, after checking it."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"write_xes: expected a pandas DataFrame, received {type(df).__name__}.")
    duplicated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if duplicated:
        raise InputError(f"write_xes: duplicate column names {duplicated}; rename them.")
    if case not in df.columns:
        raise InputError(
            f"write_xes: the case column {case!r} is not in the frame; its columns are "
            f"{[str(c) for c in df.columns]}. Pass case=<the column naming each event's case>."
        )
    codes, _ = pd.factorize(df[case])
    if (codes < 0).any():
        raise InputError(
            f"write_xes: the case column {case!r} is missing in {int((codes < 0).sum())} "
            f"row(s) (first at index {df.index[codes < 0][0]!r}); every event needs a case. "
            "Fill or drop those rows."
        )
    return codes


def _warn_varying(df: pd.DataFrame, codes: np.ndarray, columns: list[Any]) -> None:
    if not columns or df.empty:
        return
    counts = df[columns].groupby(codes).nunique(dropna=False).max()
    varying = [str(c) for c in counts.index[counts > 1]]
    if varying:
        warnings.warn(
            f"write_xes: {varying} vary within a case, but XES keeps one value per trace; "
            "each case's first value is written.",
            DataWarning,
            stacklevel=3,
        )


def _attributes(df: pd.DataFrame, columns: list[Any], indent: str, strip: int = 0) -> np.ndarray:
    """The attribute elements of each row, keyed by column name less ``strip`` characters."""
    out = np.full(len(df), "", dtype=object)
    for column in columns:
        out = out + _elements(df[column], str(column)[strip:], indent)
    return out


def _elements(s: pd.Series, key: str, indent: str) -> np.ndarray:
    """``<type key=".." value=".."/>`` per cell of ``s`` (empty text where the cell is missing)."""
    typ, text = _xes_text(s)
    bad = _NOT_XML.search("".join(text))
    if bad:
        row = next(i for i, t in enumerate(text) if _NOT_XML.search(t))
        raise InputError(
            f"write_xes: column {key!r} at position {row} holds the character "
            f"U+{ord(bad.group()):04X}, which XML cannot store; remove or replace it."
        )
    head = f'{indent}<{typ} key="{key.translate(_ESCAPE)}" value="'
    out = np.full(len(s), "", dtype=object)
    present = s.notna().to_numpy()
    out[present] = [f'{head}{t}"/>\n' for t in text]
    return out


def _xes_text(s: pd.Series) -> tuple[str, list[str]]:
    """The XES type of ``s`` and the text of its present values, escaped for an attribute."""
    kind = pd.api.types.infer_dtype(s, skipna=True)
    values = s.dropna()
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date", _date_text(values)
    if pd.api.types.is_bool_dtype(s) or kind == "boolean":
        return "boolean", ["true" if v else "false" for v in values]
    if pd.api.types.is_integer_dtype(s) or kind == "integer":
        return "int", [str(int(v)) for v in values]
    if pd.api.types.is_float_dtype(s) or kind in ("floating", "mixed-integer-float"):
        numbers = [float(v) for v in values]  # xs:double: shortest exact text, INF for infinity
        return "float", [
            repr(v) if math.isfinite(v) else ("INF" if v > 0 else "-INF") for v in numbers
        ]
    return "string", [str(v).translate(_ESCAPE) for v in values]


def _date_text(s: pd.Series) -> list[str]:
    """ISO-8601 text (milliseconds or finer where needed) with each value's UTC offset."""
    local = s if s.dt.tz is None else s.dt.tz_localize(None)
    values = local.to_numpy()
    unit = next(u for u in _UNITS if (values.astype(f"datetime64[{u}]") == values).all())
    text = np.datetime_as_string(values, unit=unit).astype(object)
    if s.dt.tz is None:
        return list(text)
    minutes = (local - s.dt.tz_convert("UTC").dt.tz_localize(None)) // pd.Timedelta(minutes=1)
    suffix = minutes.map({m: _offset_text(m) for m in minutes.unique()})
    return list(text + suffix.to_numpy(dtype=object))


@contextmanager
def _open_text(tmp: str, target: Path) -> Iterator[IO[str]]:
    """A UTF-8 text handle on ``tmp``, gzipped (reproducibly, mtime 0) for ``.gz`` targets."""
    if not target.name.lower().endswith(".gz"):
        with open(tmp, "w", encoding="utf-8", newline="\n") as plain:
            yield plain
        return
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(target.name[:-3], "wb", fileobj=raw, mtime=0, compresslevel=6) as packed,
        io.TextIOWrapper(packed, encoding="utf-8", newline="\n") as text,
    ):
        yield text
