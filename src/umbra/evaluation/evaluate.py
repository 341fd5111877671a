"""``umbra.evaluate``: fidelity, utility and privacy of a synthetic table, and the release gate.

Example:
    >>> import umbra
    >>> real = umbra.datasets.load_demo()
    >>> train, holdout = real.iloc[:500], real.iloc[500:]
    >>> fake = umbra.create("copula", random_state=0).fit(train).sample(500)
    >>> ev = umbra.evaluate(train, fake, holdout=holdout, target="cens")
    >>> ev.verdict
    'pass'
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from typing import Any

import numpy as np

from umbra import __version__
from umbra._random import RandomState, make_rng
from umbra.evaluation import fidelity, privacy
from umbra.evaluation.gate import apply_gate
from umbra.evaluation.prepare import Tables, prepare
from umbra.evaluation.result import Evaluation
from umbra.evaluation.utility import check_target, utility
from umbra.exceptions import DataWarning, InputError
from umbra.metadata.spec import Metadata
from umbra.transforms.numeric import DatetimeEncoder


def evaluate(
    real: Any,
    synthetic: Any,
    metadata: Metadata | None = None,
    *,
    holdout: Any = None,
    target: Any = None,
    sensitive: list[Any] | None = None,
    quasi_identifiers: list[Any] | None = None,
    thresholds: dict[str, float] | None = None,
    model: Any = None,
    random_state: RandomState = 0,
) -> Evaluation:
    """Compare ``synthetic`` with the ``real`` (training) table; gate on privacy.

    Args:
        real: the table the model was trained on.
        synthetic: the synthetic table.
        metadata: column specs (detected from ``real`` when omitted).
        holdout: real rows the model never saw; needed for utility and most privacy checks.
        target: column for train-on-synthetic / test-on-real utility.
        sensitive: columns for attribute inference (default: those marked ``sensitive``).
        quasi_identifiers: columns for singling out (default: marked ones, else categories
            and numbers with few distinct values).
        thresholds: release-gate maxima overriding the defaults.
        model: the fitted synthesizer, for its description and training losses.
        random_state: seed for subsampling, models and bootstrap intervals.
    """
    tables = prepare(real, synthetic, metadata, holdout)
    rng = make_rng(random_state)
    sensitive = _columns(tables, sensitive, "sensitive")
    quasi = _columns(tables, quasi_identifiers, "quasi_identifier") or (
        privacy.default_quasi_identifiers(tables)
    )
    if target is not None:
        check_target(tables, target)
    ev = Evaluation(info=_info(tables, target, model))
    seconds: dict[str, float] = {}
    plan = _plan(tables, target, sensitive, quasi)
    if tables.meta.sequence is not None:
        plan.append(("sequences", _sequence_step(real, synthetic, holdout, tables.meta)))
    for family, run in plan:
        start = time.perf_counter()
        run(ev, rng)
        seconds[family] = seconds.get(family, 0.0) + time.perf_counter() - start
    ev.info["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    apply_gate(ev, thresholds)
    return ev


def _plan(tables: Tables, target: Any, sensitive: list[Any], quasi: list[Any]) -> list[Any]:
    steps: list[Any] = [
        ("fidelity", lambda ev, rng: fidelity.column_metrics(tables, ev)),
        ("fidelity", lambda ev, rng: fidelity.pair_metrics(tables, ev)),
        ("fidelity", lambda ev, rng: fidelity.detection(tables, ev, rng)),
        ("privacy", lambda ev, rng: privacy.exact_copies(tables, ev)),
        ("privacy", lambda ev, rng: privacy.singling_out(tables, ev, quasi)),
    ]
    if tables.holdout is None:
        return steps
    steps += [
        ("privacy", lambda ev, rng: privacy.distances(tables, ev, rng)),
        ("privacy", lambda ev, rng: privacy.membership(tables, ev, rng)),
        ("privacy", lambda ev, rng: privacy.attribute_inference(tables, ev, sensitive, rng)),
    ]
    if target is not None:
        steps.append(("utility", lambda ev, rng: utility(tables, ev, target, rng)))
    return steps


def _sequence_step(real: Any, synthetic: Any, holdout: Any, meta: Metadata) -> Any:
    """The sequence metrics, on whole entities of the tables as given (not subsampled rows)."""
    from umbra.evaluation.sequences import sequence_metrics

    seq = meta.sequence
    assert seq is not None
    if holdout is not None:
        shared = len(set(real[seq.key].dropna()) & set(holdout[seq.key].dropna()))
        if shared:
            warnings.warn(
                f"the holdout shares {shared:,} entities of {seq.key!r} with the training "
                "table, so the privacy checks against it are too lenient. Hold out whole "
                f"entities: umbra.split_holdout(df, by={seq.key!r}).",
                DataWarning,
                stacklevel=4,
            )
    index = seq.index if seq.index is not None else "__position__"
    tables = [real, synthetic, holdout]
    if seq.index is None:  # the file order within each entity
        tables = [
            None if t is None else t.assign(__position__=t.groupby(seq.key).cumcount())
            for t in tables
        ]
    elif meta[seq.index].kind == "datetime":  # text dates: the instants, in UTC
        stamps = DatetimeEncoder(meta[seq.index], "i")
        tables = [None if t is None else _replaced(t, index, stamps.utc(t[index])) for t in tables]

    def run(ev: Evaluation, rng: Any) -> None:
        ev.metrics.extend(
            sequence_metrics(
                tables[0], tables[1], key=seq.key, index=index, activity=seq.activity,
                context=seq.context, holdout=tables[2], random_state=int(rng.integers(2**31)),
            )
        )  # fmt: skip

    return run


def _replaced(table: Any, column: Any, values: Any) -> Any:
    out = table.copy()
    out[column] = values
    return out


def _columns(tables: Tables, given: list[Any] | None, flag: str) -> list[Any]:
    if given is None:
        return [s.name for s in tables.meta if getattr(s, flag)]
    unknown = [c for c in given if c not in tables.columns]
    if unknown:
        raise InputError(
            f"{flag.replace('_', ' ')} column(s) {unknown} are not compared columns of the "
            f"table; choose among {tables.columns}."
        )
    return list(given)


def _info(tables: Tables, target: Any, model: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "umbra_version": __version__,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rows": {
            "train": len(tables.train),
            "synthetic": len(tables.synthetic),
            "holdout": None if tables.holdout is None else len(tables.holdout),
        },
        "columns": [str(c) for c in tables.meta.names],
        "target": None if target is None else str(target),
        "learned_from_data": (getattr(model, "metadata_", None) or tables.meta).learned_from_data(),
        "guarantee": "none: no differential privacy (epsilon = None); the checks below are "
        "empirical attacks, not a formal guarantee",
    }
    if tables.holdout is None:
        info["note"] = "no holdout: utility, distance and membership checks were skipped"
    if model is not None:
        info["model"] = {"name": model.name, "params": _plain(model.get_params())}
        spent = getattr(model, "privacy_spent_", None)
        if spent and spent.get("epsilon") is not None:
            info["guarantee"] = (
                f"({spent['epsilon']:g}, {spent['delta']:.1g})-differential privacy for every "
                f"training {spent.get('unit', 'record')}: {spent['mechanism']}, "
                f"{spent['accountant']}. The figures in "
                "this report read the real rows and are not covered by the guarantee."
            )
            info["privacy"] = _plain(spent)
        history = getattr(model, "loss_history_", None)
        if history is not None:
            info["loss_history"] = {str(k): list(map(float, v)) for k, v in history.items()}
    return info


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """JSON values: numbers, text, booleans, None and lists of them; anything else as repr."""

    def plain(value: Any) -> Any:
        if isinstance(value, bool | str | None):
            return value
        if isinstance(value, int | float | np.number):
            return value.item() if isinstance(value, np.number) else value
        if isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value):
            return list(value)
        return repr(value)

    return {k: plain(v) for k, v in params.items()}
