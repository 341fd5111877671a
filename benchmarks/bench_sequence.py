"""Benchmark the ``sequence`` model on real event logs and customer transactions.

For each dataset: 20% of the entities are held out (seed 0); the model is fitted with default
settings on the rest and samples as many entities as it was trained on. Reported: fit seconds,
sampling seconds, activity-frequency total variation, directly-follows similarity, sequence
length KS, case-duration KS, and the copied-unique-trace share (synthetic entities repeating a
path that exactly one training entity took) next to the same share of the held-out entities.

Datasets (../shared/data): ``receipt`` (eventlog_receipt), ``bpic2013`` (incidents),
``bpic2012`` (loan applications), ``cdnow`` (transactions_cdnow; no activity column, so the
activity, directly-follows and trace figures do not apply).

With ``--epsilon``, the model trains under differential privacy per entity; the domain it
needs is then declared from the whole log (each column's categories and bounds, as a data owner
would take them from the process's documentation), ``--max-length`` caps the events per entity
and ``--learning-rate`` replaces the default.

Usage:
    .venv/bin/python benchmarks/bench_sequence.py [--datasets receipt bpic2013 bpic2012 cdnow]
        [--results benchmarks/RESULTS.md] [--epochs N]
        [--epsilon E --max-length N --learning-rate R]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import datetime as dt
import platform
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

import umbra
from umbra.evaluation.sequences import sequence_metrics

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
SEED = 0
FILES = {
    "receipt": "eventlog_receipt/receipt.xes.gz",
    "bpic2013": "eventlog_bpic2013_incidents/BPI_Challenge_2013_incidents.xes.gz",
    "bpic2012": "eventlog_bpic2012/BPI_Challenge_2012.xes.gz",
}
HEADER = (
    "| data | cases (train) | events | fit s | epochs | sample s | activity TV | directly-follows "
    "similarity | length KS | case-duration KS | copied unique traces: synthetic / holdout |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def load(name: str) -> tuple[pd.DataFrame, umbra.Metadata]:
    """The dataset and its metadata (sequence roles detected, or set for CDNOW)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", umbra.exceptions.DataWarning)  # summer/winter offsets
        if name == "cdnow":
            frame = pd.read_csv(
                DATA / "transactions_cdnow/cdnow_transactions.csv",
                dtype={"customer_id": str},
                parse_dates=["date"],
            )
            meta = umbra.Metadata.detect(frame, warn=False).set_sequence("customer_id", "date")
            return frame, meta
        if name not in FILES:
            raise SystemExit(f"unknown dataset {name!r}; choose {', '.join([*FILES, 'cdnow'])}")
        frame = umbra.read(DATA / FILES[name])
    return frame, umbra.Metadata.detect(frame, warn=False)


def declare_domain(frame: pd.DataFrame, meta: umbra.Metadata) -> None:
    """Every column's categories or bounds, declared from the whole log (a DP fit needs them)."""
    assert meta.sequence is not None
    for spec in meta:
        if spec.name == meta.sequence.key:
            continue
        column = frame[spec.name]
        if spec.kind == "categorical":
            meta.update(spec.name, categories=sorted(column.dropna().unique().tolist()))
        elif spec.kind in ("numerical", "datetime") and column.notna().any():
            meta.update(spec.name, bounds=(column.min(), column.max()))


def measure(name: str, params: dict[str, Any]) -> list[str]:
    """Fit, sample and judge one dataset; the table cells."""
    frame, meta = load(name)
    seq = meta.sequence
    assert seq is not None
    if params.get("epsilon") is not None:
        declare_domain(frame, meta)
    train, holdout = umbra.split_holdout(frame, 0.2, SEED, by=seq.key)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", umbra.PrivacyLeakWarning)
        model = umbra.create("sequence", random_state=SEED, **params)
        synth = model.fit(train, meta, ledger=False)
    fit = time.perf_counter() - start
    cases = int(train[seq.key].nunique())
    start = time.perf_counter()
    fake = synth.sample(cases)
    sampled = time.perf_counter() - start
    scores = {
        m.name: m.value
        for m in sequence_metrics(
            train, fake, key=seq.key, index=seq.index, activity=seq.activity,
            context=seq.context, holdout=holdout,
        )
        if m.column is None
    }  # fmt: skip
    history = synth.loss_history_  # type: ignore[attr-defined]

    def cell(metric: str) -> str:
        value = scores.get(metric)
        return "n/a" if value is None else f"{value:.4f}"

    copies = f"{cell('unique_trace_copy_share')} / {cell('unique_trace_copy_share_holdout')}"
    return [
        name, f"{cases:,}", f"{len(train):,}", f"{fit:.1f}",
        f"{len(history)} (best {synth.best_epoch_})",  # type: ignore[attr-defined]
        f"{sampled:.1f}", cell("activity_tvd"), cell("directly_follows_similarity"),
        cell("sequence_length_ks"), cell("case_duration_ks"), copies,
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["receipt", "bpic2013", "bpic2012", "cdnow"]
    )
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--epochs", type=int, default=None, help="default: the model's own")
    parser.add_argument("--epsilon", type=float, default=None, help="train under DP")
    parser.add_argument("--max-length", type=int, default=None, help="events per entity")
    parser.add_argument("--learning-rate", type=float, default=None)
    args = parser.parse_args()
    names = ("epochs", "epsilon", "max_length", "learning_rate")
    params = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    if args.epsilon is not None:
        params["delta"] = 1e-6
    print(HEADER, flush=True)
    lines = []
    for name in args.datasets:
        lines.append("| " + " | ".join(measure(name, params)) + " |")
        print(lines[-1], flush=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"\n## {stamp}: sequence model on event logs (bench_sequence.py)\n\n"
        f"- Machine: {os.cpu_count()} cores, Python {platform.python_version()}; 20% of the "
        f"entities held out (seed {SEED}); "
        + (f"settings {params}" if params else "default settings")
        + ("; domain declared from the whole log" if args.epsilon is not None else "")
        + "; as many synthetic entities as training ones.\n\n"
        + HEADER + "\n" + "\n".join(lines) + "\n"
    )  # fmt: skip
    with args.results.open("a", encoding="utf-8") as handle:
        handle.write(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
