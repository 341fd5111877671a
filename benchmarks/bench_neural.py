"""Benchmark the trained models (ar, ctgan, tvae; the copula as a reference) on real tables.

For each dataset and model, in a fresh child process: fit seconds with default settings, epochs
trained, sampling speed (median of three draws of 100,000 rows), peak RSS, and quality against
real rows the model never saw: column shapes and pair trends (SDMetrics definitions),
train-on-synthetic / train-on-real ROC-AUC with gradient boosting, real-vs-synthetic detection
AUC, exact copies of training rows (against the holdout's own rate), the distance-to-closest-
record share (0.5 ideal), frequent categories (>= 0.5%) missing from the synthetic table, and
numeric columns whose 1% or 99% quantile is off by more than 10% of the real range.

Datasets (from ../shared/data): ``split`` (the yardstick's Adult split: stratified 80/20 of
adult_train.csv on income, seed 0: 26,048 / 6,513 rows, as ../shared/bench/make_adult_split.py
makes it), ``adult`` (32,561 train rows, judged on the 16,281 test rows), ``credit``
(credit_default_taiwan, target default next month), ``diabetes`` (health_diabetes_130us, target
readmitted within 30 days) and ``bankruptcy`` (bankruptcy_polish_companies year 1, target
class); the last three split 80/20 with seed 0. ``--synthetic-dir`` keeps each synthetic table
(with its train and holdout) for ../shared/bench/judge.py.

Usage:
    .venv/bin/python benchmarks/bench_neural.py [--datasets split credit diabetes bankruptcy]
        [--models ar ctgan tvae copula] [--results benchmarks/RESULTS.md] [--synthetic-dir DIR]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import datetime as dt
import platform
import resource
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import umbra
from umbra.evaluation.fidelity import column_metrics, detection, pair_metrics
from umbra.evaluation.prepare import prepare
from umbra.evaluation.privacy import distances, exact_copies
from umbra.evaluation.result import Evaluation
from umbra.evaluation.utility import utility

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared/data"
SAMPLE_ROWS = 100_000
SEED = 0


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(train, holdout, target) for a dataset name."""
    if name == "split":
        from sklearn.model_selection import train_test_split

        frame = pd.read_csv(DATA / "adult_census_income/adult_train.csv", na_values=["?"])
        train, holdout = train_test_split(
            frame, test_size=0.2, random_state=SEED, stratify=frame["income"]
        )
        return train.reset_index(drop=True), holdout.reset_index(drop=True), "income"
    if name == "adult":
        folder = DATA / "adult_census_income"
        train = pd.read_csv(folder / "adult_train.csv", na_values=["?"])
        test = pd.read_csv(folder / "adult_test.csv", na_values=["?"])
        test["income"] = test["income"].str.rstrip(".")
        return train, test, "income"
    if name == "credit":
        frame = pd.read_csv(DATA / "credit_default_taiwan/default_of_credit_card_clients.csv")
        target = "default_payment_next_month"
        frame[target] = frame[target].map({0: "no", 1: "yes"})  # a class, not a number
    elif name == "diabetes":
        frame = pd.read_csv(DATA / "health_diabetes_130us/diabetic_data.csv.gz", na_values=["?"])
        frame["readmitted"] = (frame["readmitted"] == "<30").map({True: "yes", False: "no"})
        target = "readmitted"
    elif name == "bankruptcy":
        frame = pd.read_csv(DATA / "bankruptcy_polish_companies/polish_bankruptcy_year1.csv")
        frame["class"] = frame["class"].map({0: "no", 1: "yes"})
        target = "class"
    else:
        raise SystemExit(
            f"unknown dataset {name!r}; choose split, adult, credit, diabetes or bankruptcy"
        )
    train, holdout = umbra.split_holdout(frame, 0.2, random_state=SEED)
    return train, holdout, target


def quantile_misses(real: pd.DataFrame, fake: pd.DataFrame, meta: umbra.Metadata) -> list[str]:
    """Numeric columns whose 1%/99% quantiles are off by more than 10% of the real range."""
    misses = []
    for spec in meta:
        if spec.kind != "numerical":
            continue
        r = pd.to_numeric(real[spec.name], errors="coerce").dropna().to_numpy(float)
        f = pd.to_numeric(fake[spec.name], errors="coerce").dropna().to_numpy(float)
        span = r.max() - r.min() if len(r) else 0.0
        if not len(f) or span == 0:
            continue
        gap = np.abs(np.quantile(r, [0.01, 0.99]) - np.quantile(f, [0.01, 0.99])).max()
        if gap > 0.1 * span:
            misses.append(f"{spec.name} ({gap / span:.0%})")
    return misses


def missing_categories(real: pd.DataFrame, fake: pd.DataFrame, meta: umbra.Metadata) -> list[str]:
    """Categories with at least 0.5% of the real rows that the synthetic table lacks."""
    out = []
    for spec in meta:
        if spec.kind not in ("categorical", "boolean"):
            continue
        share = real[spec.name].astype(object).fillna("<null>").astype(str)
        share = share.value_counts(normalize=True)
        seen = set(fake[spec.name].astype(object).fillna("<null>").astype(str))
        out += [f"{spec.name}={v}" for v, s in share.items() if s >= 0.005 and v not in seen]
    return out


def measure(dataset: str, model: str, keep: Path | None = None) -> dict[str, Any]:
    """Fit, sample and judge one model on one dataset (run in a child process)."""
    warnings.simplefilter("ignore")
    train, holdout, target = load(dataset)
    meta = umbra.Metadata.detect(train, warn=False)
    start = time.perf_counter()
    synth = umbra.create(model, random_state=SEED).fit(train, metadata=meta)
    fit_s = time.perf_counter() - start
    seconds = []
    for _ in range(3):  # the median of three draws of 100,000 rows
        start = time.perf_counter()
        synth.sample(SAMPLE_ROWS)
        seconds.append(time.perf_counter() - start)
    rows_per_s = SAMPLE_ROWS / float(np.median(seconds))
    fake = synth.sample(len(train))
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        for label, frame in (("train", train), ("holdout", holdout), (model, fake)):
            frame.to_csv(keep / f"{dataset}_{label}.csv", index=False)
    tables = prepare(train, fake, meta, holdout)
    ev = Evaluation()
    column_metrics(tables, ev)
    pair_metrics(tables, ev)
    utility(tables, ev, target, np.random.default_rng(SEED))
    detection(tables, ev, np.random.default_rng(SEED))
    exact_copies(tables, ev)
    distances(tables, ev, np.random.default_rng(SEED))
    history = getattr(synth, "loss_history_", None)
    return {
        "dataset": dataset,
        "model": model,
        "rows": len(train),
        "columns": train.shape[1],
        "fit_s": fit_s,
        "epochs": None if history is None else int(history["epoch"].max()),
        "best_epoch": getattr(synth, "best_epoch_", None),
        "rows_per_s": rows_per_s,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "column_shapes": ev.get("column_shapes").value,
        "pair_trends": ev.get("pair_trends").value,
        "tstr": ev.get("tstr_roc_auc_boosting").value,
        "trtr": ev.get("trtr_roc_auc_boosting").value,
        "detection": ev.get("detection_auc").value,
        "copies": ev.get("exact_copy_share").value,
        "copies_holdout": ev.get("exact_copy_share_holdout").value,
        "dcr": ev.get("dcr_share").value,
        "missing": missing_categories(train, fake, meta),
        "quantiles": quantile_misses(train, fake, meta),
    }


def in_child(dataset: str, model: str, keep: Path | None) -> dict[str, Any]:
    """Run :func:`measure` in a fresh process so that its peak memory is its own."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(measure, dataset, model, keep).result()


def row(r: dict[str, Any]) -> str:
    """One markdown table row."""
    epochs = "-" if r["epochs"] is None else f"{r['epochs']} (best {r['best_epoch']})"
    cells = [
        r["dataset"],
        r["model"],
        f"{r['rows']:,} x {r['columns']}",
        f"{r['fit_s']:.1f}",
        epochs,
        f"{r['rows_per_s']:,.0f}",
        f"{r['peak_mb']:.0f}",
        f"{r['column_shapes']:.4f}",
        f"{r['pair_trends']:.4f}",
        f"{r['tstr']:.4f} / {r['trtr']:.4f} ({r['tstr'] / r['trtr']:.3f})",
        f"{r['detection']:.3f}",
        f"{r['copies']:.4f} ({r['copies_holdout']:.4f})",
        f"{r['dcr']:.3f}",
        ", ".join(r["missing"]) or "none",
        ", ".join(r["quantiles"]) or "none",
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| data | model | train rows | fit s | epochs | sample rows/s | peak MB | column shapes "
    "| pair trends | TSTR / TRTR ROC-AUC (ratio) | detection AUC | exact copies (holdout's) "
    "| DCR share | categories >= 0.5% missing | q1/q99 off > 10% |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["split", "credit", "diabetes", "bankruptcy"]
    )
    parser.add_argument("--models", nargs="+", default=["ar", "ctgan", "tvae", "copula"])
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--synthetic-dir", type=Path, default=None)
    args = parser.parse_args()
    lines = []
    print(HEADER)
    for dataset in args.datasets:
        for model in args.models:
            result = in_child(dataset, model, args.synthetic_dir)
            lines.append(row(result))
            print(lines[-1], flush=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"\n## {stamp}: trained models (bench_neural.py)\n\n"
        f"- Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {__import__('torch').__version__}; default settings, seed {SEED}.\n"
        "- Quality is judged against real rows the model never saw (adult: the test file; split:\n"
        "  the yardstick's 6,513 holdout rows; the others: 20% held out).\n\n"
        + HEADER
        + "\n"
        + "\n".join(lines)
        + "\n"
    )
    with args.results.open("a", encoding="utf-8") as handle:
        handle.write(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
