"""Benchmark the differentially private models on the yardstick's Adult split.

For each model and epsilon (delta 1e-6): fit seconds, column shapes and pair trends
(SDMetrics definitions), train-on-synthetic / train-on-real ROC-AUC with gradient boosting, and
the frequent categories (>= 0.5%) missing from the synthetic table. Two domains: ``declared``
(bounds and categories of the public Adult schema: the ranges and category lists of the two
public Adult files, as a data owner publishing Adult would declare them) and ``dp`` (nothing
declared: bounds, categories and null presence learned under DP inside the same budget).

Usage:
    .venv/bin/python benchmarks/bench_dp.py [--epsilons 0.5 1 3 10] [--models mst]
        [--domains declared dp] [--results benchmarks/RESULTS.md]
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

import numpy as np
import pandas as pd
from bench_neural import DATA, SEED, load, missing_categories

import umbra
from umbra.evaluation.fidelity import column_metrics, pair_metrics
from umbra.evaluation.prepare import prepare
from umbra.evaluation.result import Evaluation
from umbra.evaluation.utility import utility

HERE = Path(__file__).resolve().parent
DELTA = 1e-6


def public_schema(train: pd.DataFrame) -> umbra.Metadata:
    """Adult's domain from both public files (train and test), declared public."""
    folder = DATA / "adult_census_income"
    test = pd.read_csv(folder / "adult_test.csv", na_values=["?"])
    test["income"] = test["income"].str.rstrip(".")
    both = pd.concat([pd.read_csv(folder / "adult_train.csv", na_values=["?"]), test])
    meta = umbra.Metadata.detect(train, warn=False)
    for spec in meta:
        column = both[spec.name]
        if spec.kind == "numerical":
            meta.update(spec.name, bounds=(float(column.min()), float(column.max())))
        elif spec.kind == "categorical":
            meta.update(spec.name, categories=sorted(column.dropna().unique().tolist()))
    return meta


def measure(
    model: str,
    epsilon: float,
    domain: str,
    params: dict[str, Any] | None = None,
    keep: Path | None = None,
) -> dict[str, Any]:
    """Fit one model at one epsilon (and ``params``) and judge it on the split's holdout;
    ``keep``: a folder to write the synthetic table to, for ../shared/bench/judge.py."""
    warnings.simplefilter("ignore")
    train, holdout, target = load("split")
    meta = public_schema(train) if domain == "declared" else umbra.Metadata.detect(train)
    start = time.perf_counter()
    synth = umbra.create(model, epsilon=epsilon, delta=DELTA, random_state=SEED, **(params or {}))
    synth.fit(train, metadata=meta)
    fit_s = time.perf_counter() - start
    fake = synth.sample(len(train))
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        umbra.write(fake, keep / f"{model}_eps{epsilon:g}_{domain}.csv", force=True)
    tables = prepare(train, fake, meta, holdout)
    ev = Evaluation()
    column_metrics(tables, ev)
    pair_metrics(tables, ev)
    utility(tables, ev, target, np.random.default_rng(SEED))
    missing = missing_categories(train, fake, meta)
    return {
        "cells": [
            model,
            f"{epsilon:g}",
            domain,
            f"{fit_s:.1f}",
            f"{ev.get('column_shapes').value:.4f}",
            f"{ev.get('pair_trends').value:.4f}",
            f"{ev.get('tstr_roc_auc_boosting').value:.4f}",
            f"{ev.get('trtr_roc_auc_boosting').value:.4f}",
            str(len(missing)),
        ]
    }


def audit(trials: int, epsilon: float) -> str:
    """Canary audit on 2,000 Adult rows (four columns): the empirical epsilon lower bound of
    mst at ``epsilon`` and of the same model without DP."""
    from umbra.privacy.audit import canary_audit

    train, _, _ = load("split")
    columns = ["workclass", "education", "sex", "income"]
    data = train[columns].dropna().head(2000).reset_index(drop=True)
    meta = umbra.Metadata.detect(data, warn=False)
    for name in columns:
        categories = sorted(data[name].unique().tolist())
        meta.update(name, categories=categories + (["Canary"] if name == "education" else []))
    canary = pd.Series({"workclass": "Private", "education": "Canary", "sex": "Male",
                        "income": ">50K"})  # fmt: skip
    lines = []
    for eps in (epsilon, None):

        def fit(table: pd.DataFrame, seed: int, eps: float | None = eps) -> umbra.Synthesizer:
            model = umbra.create("mst", epsilon=eps, delta=DELTA, random_state=seed)
            return model.fit(table, metadata=meta)

        start = time.perf_counter()
        result = canary_audit(fit, data, canary, "education", trials=trials, delta=DELTA)
        claimed = "none (no DP)" if eps is None else f"{eps:g}"
        lines.append(
            f"| mst | {claimed} | {trials} | {result.epsilon_lower:.2f} | "
            f"{result.false_positive_rate:.2f} | {result.false_negative_rate:.2f} | "
            f"{time.perf_counter() - start:.0f} |"
        )
        print(lines[-1], flush=True)
    return (
        "\nCanary audit (2,000 rows x 4 columns, one planted record with an unseen education, "
        "half the trials with it; attack: synthetic rows carrying it; 95% Clopper-Pearson):\n\n"
        "| model | claimed epsilon | trials | empirical epsilon lower bound | FPR | FNR | "
        "seconds |\n|---|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n"
    )


HEADER = (
    "| model | epsilon | domain | fit s | column shapes | pair trends | TSTR ROC-AUC "
    "| TRTR ROC-AUC | categories >= 0.5% missing |\n|---|---|---|---|---|---|---|---|---|"
)


def _setting(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` as a name and a number where it reads as one, else the text."""
    name, _, value = text.partition("=")
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilons", nargs="+", type=float, default=[0.5, 1.0, 3.0, 10.0])
    parser.add_argument("--models", nargs="+", default=["aim", "mst"])
    parser.add_argument("--domains", nargs="+", default=["declared", "dp"])
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--audit-trials", type=int, default=100)
    parser.add_argument("--synthetic-dir", type=Path, help="keep the synthetic tables here")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        help="model setting NAME=VALUE, e.g. epochs=4 or n_bins=64",
    )
    args = parser.parse_args()
    params = dict(_setting(p) for p in args.param)
    print(HEADER)
    lines = []
    for model in args.models:
        for domain in args.domains:
            for epsilon in args.epsilons:
                cells = measure(model, epsilon, domain, params, args.synthetic_dir)["cells"]
                lines.append("| " + " | ".join(cells) + " |")
                print(lines[-1], flush=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"\n## {stamp}: differentially private models (bench_dp.py)\n\n"
        f"- Machine: {os.cpu_count()} cores, Python {platform.python_version()}; the yardstick's "
        f"Adult split (26,048 / 6,513), delta {DELTA:g}, seed {SEED}, "
        + (f"settings {params}" if params else "default settings")
        + ".\n\n"
        + HEADER
        + "\n"
        + "\n".join(lines)
        + "\n"
        + (audit(args.audit_trials, 1.0) if args.audit_trials else "")
    )
    with args.results.open("a", encoding="utf-8") as handle:
        handle.write(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
