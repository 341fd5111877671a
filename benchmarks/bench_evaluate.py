"""Benchmark the full audit on the real Adult census table and keep a screenshot of its report.

Real: ``adult_train.csv`` (32,561 rows) as the training table and ``adult_test.csv`` (16,281 rows)
as the holdout; synthetic: 32,561 rows from the copula fitted on the training table. Measures the
seconds of ``umbra.evaluate`` (per family) and of the HTML rendering, the peak memory of the
process, and appends them with the headline metrics to ``benchmarks/RESULTS.md``.

Usage:
    .venv/bin/python benchmarks/bench_evaluate.py [--screenshot docs/adult_report.png]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import datetime as dt
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import umbra

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared/data/adult_census_income"
RESULTS = HERE / "RESULTS.md"
HEADLINE = ["column_shapes", "pair_trends", "detection_auc", "tstr_roc_auc_boosting",
            "trtr_roc_auc_boosting", "exact_copy_share", "exact_copy_share_holdout", "dcr_share",
            "membership_auc", "singling_out_share", "singling_out_share_holdout"]  # fmt: skip


def peak_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure() -> tuple[dict[str, float], umbra.Evaluation, str]:
    """Fit, sample, evaluate and render; return the timings, the evaluation and the page."""
    train = umbra.read(DATA / "adult_train.csv", na_values=["?"])
    holdout = umbra.read(DATA / "adult_test.csv", na_values=["?"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", umbra.PrivacyLeakWarning)
        synth = umbra.create("copula", random_state=0).fit(train)
    fake = synth.sample(len(train))
    figures: dict[str, float] = {"peak_before_mb": peak_mb()}
    start = time.perf_counter()
    ev = umbra.evaluate(train, fake, synth.metadata_, holdout=holdout, target="income", model=synth)
    figures["evaluate_s"] = time.perf_counter() - start
    start = time.perf_counter()
    page = ev.to_html()
    figures["html_s"] = time.perf_counter() - start
    figures["peak_mb"] = peak_mb()
    figures["html_mb"] = len(page.encode()) / 1e6
    return figures, ev, page


def screenshot(page: str, target: Path) -> None:
    """Render the page in headless Chromium and save a PNG of its top."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit(
            "chromium is not installed; run `make test` once (it installs it) or skip --screenshot"
        )
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "report.html"
        html.write_text(page, encoding="utf-8")
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--disable-background-networking", f"--user-data-dir={tmp}/profile",
             "--window-size=1200,2600", f"--screenshot={target.resolve()}", html.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


def append(figures: dict[str, float], ev: umbra.Evaluation) -> str:
    """The markdown section for RESULTS.md."""
    seconds = ev.info["seconds"]
    stamp = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    lines = [
        f"\n## {stamp}: full audit of Adult (bench_evaluate.py)\n",
        f"- Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}.",
        "- Real 32,561 training rows (adult_train.csv), holdout 16,281 rows (adult_test.csv), "
        "32,561 synthetic rows (copula, seed 0), target `income`.",
        f"- `umbra.evaluate`: {figures['evaluate_s']:.1f} s (fidelity "
        f"{seconds.get('fidelity', 0)} s, utility {seconds.get('utility', 0)} s, privacy "
        f"{seconds.get('privacy', 0)} s); HTML "
        f"report {figures['html_s']:.1f} s, {figures['html_mb']:.2f} MB.",
        f"- Peak memory of the process: {figures['peak_mb']:.0f} MB "
        f"({figures['peak_before_mb']:.0f} MB before the audit).",
        f"- Verdict: {ev.verdict}.\n",
        "| metric | value |",
        "|---|---|",
    ]
    for name in HEADLINE:
        metric = ev.get(name)
        lines.append(f"| {name} | {metric.value:.4f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", type=Path, help="PNG of the report to write")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not (DATA / "adult_train.csv").is_file():
        sys.exit(f"{DATA}: the Adult census data is missing (expected ../shared/data).")
    figures, ev, page = measure()
    section = append(figures, ev)
    print(section)
    with args.results.open("a", encoding="utf-8") as handle:
        handle.write(section)
    if args.screenshot:
        screenshot(page, args.screenshot)
        print(f"screenshot written to {args.screenshot}")


if __name__ == "__main__":
    main()
