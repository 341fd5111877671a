"""The command line's fitting and sequence helpers (options shared by ``fit`` and ``synthesize``).

Example:
    >>> conditions(["sex=Female", "age=30..40"])
    {'sex': 'Female', 'age': (30.0, 40.0)}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from umbra._console import stage
from umbra.exceptions import InputError
from umbra.io.eventlog import write_xes
from umbra.io.tables import table_format, write
from umbra.metadata.detect import as_identifier
from umbra.metadata.sequence import constant_columns, guess_activity
from umbra.metadata.spec import Metadata
from umbra.privacy.ledger import Ledger
from umbra.synthesizers import available, create
from umbra.synthesizers.base import Synthesizer
from umbra.synthesizers.conditions import parse_value
from umbra.synthesizers.registry import get as get_model
from umbra.transforms.numeric import DatetimeEncoder

TABLE_MODEL = "ar"
SEQUENCE_MODEL = "sequence"
DP_MODEL = "aim"

Conditions = Annotated[
    list[str] | None,
    typer.Option(
        "--condition",
        help="Only rows with COLUMN=VALUE, or COLUMN=LOW..HIGH for numbers (repeatable).",
    ),
]
SequenceKey = Annotated[
    str | None,
    typer.Option("--sequence-key", help="Entity (case) id column: the table is sequences."),
]
SequenceIndex = Annotated[
    str | None,
    typer.Option("--sequence-index", help="Column ordering each entity's events (a time)."),
]
ModelName = Annotated[
    str | None,
    typer.Option(
        "--model", help="Model (default: ar; aim with --epsilon; sequence for sequence tables)."
    ),
]

Settings = Annotated[
    list[str] | None,
    typer.Option(
        "--param", help="Model setting NAME=VALUE (repeatable), e.g. epochs=4 or max_length=50."
    ),
]


# settings the CLI sets itself, so that the ledger, the seed and the progress bar stay right
OWN_OPTIONS = {
    "random_state": "use --seed",
    "epsilon": "use --epsilon (so that the ledger books the spend)",
    "delta": "use --delta (with --epsilon)",
    "verbose": "not needed: the CLI shows the model's progress itself",
}


def model_settings(items: list[str] | None, model: str) -> dict[str, object]:
    """``NAME=VALUE`` options as the model's settings: numbers, true/false, none, or text.

    Example:
        >>> model_settings(["epochs=4", "learning_rate=0.05", "early_stopping=none"], "ar")
        {'epochs': 4, 'learning_rate': 0.05, 'early_stopping': None}
    """
    names = get_model(model).param_names()
    out: dict[str, object] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise InputError(f"--param expects NAME=VALUE, received {item!r}")
        if name in OWN_OPTIONS and name in names:
            raise InputError(f"--param {name}: {OWN_OPTIONS[name]}")
        if name not in names:
            raise InputError(
                f"--param {name}: model {model!r} has no such setting; it has "
                f"{[n for n in names if n not in OWN_OPTIONS]}"
            )
        out[name] = _value(text)
    return out


def _value(text: str) -> object:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@dataclass(frozen=True)
class DP:
    """The CLI's privacy options; ``source`` is the fingerprint the spend is booked against."""

    epsilon: float | None
    delta: float
    ledger: Path | None
    source: str | None = None


def fit_model(
    console: Console,
    df: pd.DataFrame,
    meta: Metadata,
    model: str,
    seed: int | None,
    dp: DP | None = None,
    settings: list[str] | None = None,
) -> Synthesizer:
    """Create and fit ``model``, with a progress line (or the model's own progress bar)."""
    label = f"Fitting {model} on {len(df):,} rows x {df.shape[1]} columns"
    params: dict[str, object] = {"random_state": seed, **model_settings(settings, model)}
    if dp is not None and dp.epsilon is not None:
        if "epsilon" not in get_model(model).param_names():
            dp_models = [m for m in available() if "epsilon" in get_model(m).param_names()]
            raise InputError(
                f"--epsilon: model {model!r} has no differential privacy; use one of {dp_models}"
            )
        params |= {"epsilon": dp.epsilon, "delta": dp.delta}
    trained = "verbose" in get_model(model).param_names()  # these show their own progress
    synth = create(model, **params, **({"verbose": True} if trained else {}))
    ledger = None if dp is None or dp.epsilon is None else Ledger(dp.ledger)
    if trained:
        console.print(label)
        return synth.fit(df, metadata=meta, ledger=ledger, source=dp and dp.source)
    with stage(console, label):
        return synth.fit(df, metadata=meta, ledger=ledger, source=dp and dp.source)


def conditions(items: list[str] | None) -> dict[str, object]:
    """``COLUMN=VALUE`` or ``COLUMN=LOW..HIGH`` options as a conditions mapping."""
    out: dict[str, object] = {}
    for item in items or []:
        column, sep, value = item.partition("=")
        if not sep or not column:
            raise InputError(
                f"--condition expects COLUMN=VALUE or COLUMN=LOW..HIGH, received {item!r}"
            )
        out[column] = parse_value(value)
    return out


def with_sequence(df: pd.DataFrame, meta: Metadata, key: str | None, index: str | None) -> Metadata:
    """``meta`` with the sequence roles given on the command line (context re-detected)."""
    if key is None:
        if index is not None:
            raise InputError("--sequence-index needs --sequence-key (the entity id column)")
        return meta
    old = meta.sequence
    activity = old.activity if old is not None and old.activity not in (key, index) else None
    if activity is None:
        activity = guess_activity(list(df.columns), key, index)
    meta.set_sequence(key, index, activity=activity)
    assert meta.sequence is not None
    meta.sequence.context = constant_columns(df, meta.sequence)
    as_identifier(meta, df)
    return meta


def model_for(meta: Metadata, model: str | None, epsilon: float | None = None) -> str:
    """The model to fit: the one asked for, else ``sequence`` for sequence tables, ``aim``
    under differential privacy (the best at these budgets, see benchmarks/RESULTS.md), else
    ``ar``."""
    if model is not None:
        if meta.sequence is None and model in available("sequence"):
            raise InputError(
                f"--model {model}: the table is not a sequence table; name its entity column "
                "with --sequence-key (and its time with --sequence-index)"
            )
        return model
    if meta.sequence is not None:
        return SEQUENCE_MODEL
    return DP_MODEL if epsilon is not None else TABLE_MODEL


def xes_names(path: Path, meta: Metadata, columns: list[object]) -> dict[object, str] | None:
    """The XES names of the sequence roles for an ``.xes`` output (None for other formats);
    an output that cannot be XES is an :class:`InputError`, before any work."""
    if table_format(path) != "xes":
        return None
    seq = meta.sequence
    if seq is None:
        raise InputError(
            f"{path}: an XES file holds an event log; name the table's entity column with "
            "--sequence-key (and its time with --sequence-index), or write CSV or Parquet"
        )
    names = {seq.key: "case:concept:name"}  # the XES names, so that process tools read it
    if seq.activity is not None:
        names[seq.activity] = "concept:name"
    if seq.index is not None and meta[seq.index].kind == "datetime":
        names[seq.index] = "time:timestamp"
    names |= {c: f"case:{c}" for c in seq.context if not str(c).startswith("case:")}
    clashes = [new for old, new in names.items() if new in columns and new != old]
    if clashes:
        raise InputError(
            f"{path}: cannot write XES: the columns {clashes} would clash with the XES names "
            "of the sequence roles; rename them or write CSV"
        )
    return names


def write_table(df: pd.DataFrame, path: Path, meta: Metadata, *, force: bool) -> Path:
    """Write the output; an XES file gets the XES names, dates as dates, case ids as text."""
    names = xes_names(path, meta, list(df.columns))
    if names is None:
        return write(df, path, force=force)
    out = df.copy()
    for spec in meta:
        if spec.kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(out[spec.name]):
            out[spec.name] = DatetimeEncoder(spec, "x").utc(out[spec.name]).dt.tz_localize("UTC")
    assert meta.sequence is not None
    out[meta.sequence.key] = out[meta.sequence.key].astype(str)
    return write_xes(out.rename(columns=names), path, force=force)


def how_many(
    df: pd.DataFrame, meta: Metadata, model: str, rows: int | None, entities: int | None
) -> int:
    """Rows to sample, or entities for a sequence model (default: as many as the input)."""
    if model not in available("sequence"):
        if entities is not None:
            raise InputError("--entities is for sequence tables; use --rows for this table")
        return len(df) if rows is None else rows
    if rows is not None:
        raise InputError(f"--rows: model {model!r} generates entities; use --entities N")
    assert meta.sequence is not None
    return int(df[meta.sequence.key].nunique()) if entities is None else entities
