"""Benchmark the ``sequence`` model on real event logs and customer transactions.

For each dataset: 20% of the entities are held out (seed 0); the model is fitted with default
settings on the rest and samples as many entities as it was trained on. Reported: fit seconds,
sampling seconds, activity-frequency total variation, directly-follows similarity, sequence
length KS, case-duration KS, and the copied-unique-trace share (synthetic entities repeating a
path that exactly one training entity took) next to the same share of the held-out entities.

Datasets (../shared/data): ``receipt`` (eventlog_receipt), ``bpic2013`` (incidents),
``bpic2012`` (loan applications), ``cdnow`` (transactions_cdnow; no activity column, so the
activity, directly-follows and trace figures do not apply).

Usage:
    .venv/bin/python benchmarks/bench_sequence.py [--datasets receipt bpic2013 bpic2012 cdnow]
        [--results benchmarks/RESULTS.md] [--epochs N]
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


def measure(name: str, epochs: int | None) -> list[str]:
    """Fit, sample and judge one dataset; the table cells."""
    frame, meta = load(name)
    seq = meta.sequence
    assert seq is not None
    train, holdout = umbra.split_holdout(frame, 0.2, SEED, by=seq.key)
    params: dict[str, Any] = {"random_state": SEED} | ({"epochs": epochs} if epochs else {})
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", umbra.PrivacyLeakWarning)
        synth = umbra.create("sequence", **params).fit(train, meta)
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
    args = parser.parse_args()
    print(HEADER, flush=True)
    lines = []
    for name in args.datasets:
        lines.append("| " + " | ".join(measure(name, args.epochs)) + " |")
        print(lines[-1], flush=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"\n## {stamp}: sequence model on event logs (bench_sequence.py)\n\n"
        f"- Machine: {os.cpu_count()} cores, Python {platform.python_version()}; 20% of the "
        f"entities held out (seed {SEED}); default settings"
        + (f" except epochs={args.epochs}" if args.epochs else "")
        + "; as many synthetic entities as training ones.\n\n"
        + HEADER + "\n" + "\n".join(lines) + "\n"
    )  # fmt: skip
    with args.results.open("a", encoding="utf-8") as handle:
        handle.write(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
