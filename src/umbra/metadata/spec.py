"""Column specifications and the :class:`Metadata` that groups them, with versioned JSON.

Every bound and category set records where it came from: ``"public"`` (declared by the user, no
privacy cost) or ``"data"`` (learned from the private table, which leaks without DP).

Example:
    >>> meta = Metadata([ColumnSpec("age", "numerical", "int64", integer=True)])
    >>> _ = meta.update("age", bounds=(0, 120))
    >>> meta["age"].bounds, meta["age"].bounds_source
    ((0, 120), 'public')
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from umbra.exceptions import IncompatibleVersionError, MetadataError, PersistenceError
from umbra.metadata.sequence import SequenceSpec

KINDS = ("numerical", "categorical", "boolean", "datetime", "id", "pii")
SOURCES = ("public", "data", "dp")
PII_TYPES = ("email", "phone", "name", "text")
FORMAT = "umbra.metadata"
FORMAT_VERSION = 1


@dataclass
class ColumnSpec:
    """What Umbra knows about one column.

    Attributes:
        name: the column label (a string or an integer).
        kind: one of ``numerical, categorical, boolean, datetime, id, pii``.
        dtype: the pandas dtype to restore, as ``str(series.dtype)``.
        nullable: whether the column may hold missing values.
        integer: numerical columns holding whole numbers only.
        decimals: decimal places to round to (None: keep full precision).
        bounds: (low, high); datetime bounds are ISO-8601 strings.
        categories: the category set of categorical columns.
        datetime_format: strftime format when dates are stored as text.
        timezone: the timezone of timezone-aware datetimes.
        pii_type: ``email, phone, name`` or ``text`` for personal data (never learned).
        id_pattern: the character shape of identifiers (``d`` digit, ``a``/``A`` letters).
        ordered: categories with an order (restored as an ordered pandas categorical).
        sensitive: a column an attacker would want to infer (checked by attribute inference).
        quasi_identifier: a column an attacker may know about a person (checked by singling out).
    """

    name: Hashable
    kind: str
    dtype: str = "object"
    nullable: bool = False
    nullable_source: str | None = None
    integer: bool = False
    decimals: int | None = None
    bounds: tuple[Any, Any] | None = None
    bounds_source: str | None = None
    categories: list[Any] | None = None
    categories_source: str | None = None
    datetime_format: str | None = None
    timezone: str | None = None
    pii_type: str | None = None
    id_pattern: str | None = None
    ordered: bool = False
    sensitive: bool = False
    quasi_identifier: bool = False

    def problems(self) -> list[str]:
        """Return every inconsistency of this spec on its own (empty when it is sound)."""
        where = f"column {self.name!r}"
        out: list[str] = []
        if self.kind not in KINDS:
            out.append(f"{where}: kind {self.kind!r} is unknown; use one of {', '.join(KINDS)}")
        for attr in ("bounds_source", "categories_source", "nullable_source"):
            value = getattr(self, attr)
            if value is not None and value not in SOURCES:
                out.append(f"{where}: {attr} {value!r} is unknown; use 'public', 'data' or 'dp'")
        if self.bounds is not None:
            out.extend(_bounds_problems(where, self.kind, self.bounds))
        if self.categories is not None:
            keys = [_category_key(c) for c in self.categories]
            if len(set(keys)) != len(keys):
                out.append(f"{where}: categories repeat a value; list each category once")
        if self.pii_type is not None and self.pii_type not in PII_TYPES:
            out.append(f"{where}: pii_type {self.pii_type!r} is unknown; use one of {PII_TYPES}")
        if self.decimals is not None and not (0 <= self.decimals <= 12):
            out.append(f"{where}: decimals must be between 0 and 12, received {self.decimals}")
        return out


def parse_dates(text: pd.Series, fmt: str) -> pd.Series:
    """Parse text dates with a detected format (``%:z``: offsets with a colon, kept in UTC).

    Example:
        >>> parse_dates(pd.Series(["2024-01-02T03:04:05+02:00"]), "%Y-%m-%dT%H:%M:%S%:z")[0]
        Timestamp('2024-01-02 01:04:05+0000', tz='UTC')
    """
    pattern = fmt.replace("%:z", "%z")
    return pd.to_datetime(text, format=pattern, errors="coerce", utc="%z" in pattern)


def format_dates(stamps: pd.Series, fmt: str, digits: int = 6) -> pd.Series:
    """Dates as text in ``fmt``, fractions of seconds cut to ``digits``, missing as None.

    Example:
        >>> s = pd.Series(pd.to_datetime(["2024-01-02 03:04:05.120"]))
        >>> format_dates(s, "%Y-%m-%d %H:%M:%S.%f", digits=3).tolist()
        ['2024-01-02 03:04:05.120']
    """
    colon = fmt.endswith("%:z")
    text = stamps.dt.strftime(fmt.replace("%:z", "%z").replace("%f", "\x1f%f\x1f"))
    if "%f" in fmt:
        text = text.str.replace(rf"\x1f(\d{{{digits}}})\d*\x1f", r"\1", regex=True)
    if colon:
        text = text.str.replace(r"([+-]\d{2})(\d{2})$", r"\1:\2", regex=True)
    return text.astype(object).where(stamps.notna(), None)


def _bounds_problems(where: str, kind: str, bounds: Sequence[Any]) -> list[str]:
    if len(bounds) != 2:
        return [f"{where}: bounds must be (low, high), received {bounds!r}"]
    low, high = bounds
    if kind == "datetime":
        try:
            low, high = pd.Timestamp(low), pd.Timestamp(high)
        except (ValueError, TypeError):
            return [f"{where}: datetime bounds must be ISO-8601 dates, received {bounds!r}"]
    elif not all(isinstance(b, int | float) and math.isfinite(b) for b in (low, high)):
        return [f"{where}: bounds must be two finite numbers, received {bounds!r}"]
    if low > high:
        return [f"{where}: bounds {tuple(bounds)!r} have low > high; swap them"]
    return []


def _category_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


class Metadata:
    """The ordered column specs of one table.

    Example:
        >>> import pandas as pd
        >>> meta = Metadata.detect(pd.DataFrame({"x": [1.5, 2.5, 3.0]}), warn=False)
        >>> meta["x"].kind, meta["x"].bounds, meta["x"].bounds_source
        ('numerical', (1.5, 3.0), 'data')
    """

    def __init__(self, columns: Sequence[ColumnSpec], sequence: SequenceSpec | None = None) -> None:
        self.columns = list(columns)
        self.sequence = sequence
        names = [c.name for c in self.columns]
        repeated = sorted({repr(n) for n in names if names.count(n) > 1})
        if repeated:
            raise MetadataError([f"column {n} is described more than once" for n in repeated])

    @classmethod
    def detect(cls, data: Any, *, warn: bool = True) -> Metadata:
        """Detect each column's kind, dtype, nullability, bounds and categories from ``data``."""
        from umbra.metadata.detect import detect_metadata

        return detect_metadata(data, warn=warn)

    def set_sequence(
        self,
        key: Hashable,
        index: Hashable | None = None,
        *,
        activity: Hashable | None = None,
        context: Sequence[Hashable] | None = None,
    ) -> Metadata:
        """Declare the table a set of sequences: one entity per ``key``, ordered by ``index``.

        ``context`` names the columns constant within each entity (default: the current
        ones, if the key stays the same, else none). Returns ``self``; unknown columns are a
        :class:`MetadataError`.

        Example:
            >>> meta = Metadata([ColumnSpec("id", "id"), ColumnSpec("t", "numerical")])
            >>> meta.set_sequence("id", "t").sequence
            SequenceSpec(key='id', index='t', activity=None, context=[])
        """
        old = self.sequence
        if context is None:
            context = old.context if old is not None and old.key == key else []
        spec = SequenceSpec(key, index, activity, list(context))
        problems = spec.problems(self.names)
        if problems:
            raise MetadataError(problems)
        self.sequence = spec
        return self

    @property
    def names(self) -> list[Hashable]:
        """Column labels in table order."""
        return [c.name for c in self.columns]

    def __getitem__(self, name: Hashable) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name and type(spec.name) is type(name):
                return spec
        raise MetadataError([f"no column {name!r}; the metadata has {self.names}"])

    def __iter__(self) -> Iterator[ColumnSpec]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Metadata) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        kinds = ", ".join(f"{c.name!r}: {c.kind}" for c in self.columns)
        key = f"; sequences of {self.sequence.key!r}" if self.sequence is not None else ""
        return f"Metadata({kinds}{key})"

    def update(self, name: Hashable, **changes: Any) -> Metadata:
        """Override fields of one column; bounds and categories given here are public.

        Returns ``self`` so that calls chain. Raises :class:`MetadataError` for unknown fields
        or inconsistent values.
        """
        spec = self[name]
        known = {f.name for f in fields(ColumnSpec)} - {"name"}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise MetadataError(
                [f"column {name!r}: unknown field(s) {unknown}; use {sorted(known)}"]
            )
        if "bounds" in changes and changes["bounds"] is not None:
            changes["bounds"] = tuple(changes["bounds"])
            changes.setdefault("bounds_source", "public")
        if "categories" in changes and changes["categories"] is not None:
            changes["categories"] = list(changes["categories"])
            changes.setdefault("categories_source", "public")
        if "nullable" in changes:
            changes.setdefault("nullable_source", "public")
        new = replace(spec, **changes)
        problems = new.problems()
        if problems:
            raise MetadataError(problems)
        self.columns[self.columns.index(spec)] = new
        return self

    def learned_from_data(self) -> list[str]:
        """Describe each bound or category set learned from the data (each one leaks)."""
        out = []
        for c in self.columns:
            if c.bounds is not None and c.bounds_source == "data":
                out.append(f"bounds of {c.name!r}")
            if c.categories is not None and c.categories_source == "data":
                out.append(f"categories of {c.name!r}")
        return out

    def problems(self) -> list[str]:
        """Every inconsistency of the specs themselves."""
        out = [p for c in self.columns for p in c.problems()]
        return out + (self.sequence.problems(self.names) if self.sequence is not None else [])

    def validate(self, data: Any) -> None:
        """Raise :class:`MetadataError` listing every way ``data`` does not fit this metadata."""
        from umbra.metadata.validate import table_problems

        problems = self.problems() + table_problems(self, data)
        if problems:
            raise MetadataError(problems, header="problems between the metadata and the table")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the format name and version."""
        out: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "columns": [_spec_to_dict(c) for c in self.columns],
        }
        if self.sequence is not None:
            out["sequence"] = self.sequence.to_dict()
        return out

    @classmethod
    def from_dict(cls, payload: dict[str, Any], *, origin: str = "metadata") -> Metadata:
        """Rebuild metadata from :meth:`to_dict` output, checking format and version."""
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise PersistenceError(f"{origin}: not an Umbra metadata file (no format {FORMAT!r}).")
        version = payload.get("version")
        if version != FORMAT_VERSION:
            raise IncompatibleVersionError(
                f"{origin}: metadata format version {version}; this Umbra reads version "
                f"{FORMAT_VERSION}. Re-run `umbra detect` with this version."
            )
        known = {f.name for f in fields(ColumnSpec)}
        specs = []
        for raw in payload.get("columns", []):
            unknown = sorted(set(raw) - known)
            if unknown or "name" not in raw or "kind" not in raw:
                raise PersistenceError(
                    f"{origin}: column entry {raw!r} needs 'name' and 'kind' and only "
                    f"known fields (unknown: {unknown})."
                )
            if raw.get("bounds") is not None:
                raw = {**raw, "bounds": tuple(raw["bounds"])}
            specs.append(ColumnSpec(**raw))
        raw_sequence = payload.get("sequence")
        sequence = None if raw_sequence is None else SequenceSpec.from_dict(raw_sequence, origin)
        meta = cls(specs, sequence)
        problems = meta.problems()
        if problems:
            raise MetadataError(problems, header=f"problems in {origin}")
        return meta

    def save(self, path: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write the metadata as JSON; refuses to replace a file unless ``force``."""
        from umbra._files import atomic_write_text

        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)
        return atomic_write_text(Path(path), text + "\n", force=force)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Metadata:
        """Read metadata written by :meth:`save`."""
        p = Path(path)
        if not p.is_file():
            raise PersistenceError(f"{p}: no such metadata file; create one with `umbra detect`.")
        try:
            payload = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PersistenceError(f"{p}: not valid JSON ({exc}).") from None
        return cls.from_dict(payload, origin=str(p))


def _spec_to_dict(spec: ColumnSpec) -> dict[str, Any]:
    out = asdict(spec)
    if out["bounds"] is not None:
        out["bounds"] = list(out["bounds"])
    return out
