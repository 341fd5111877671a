"""Benchmark Umbra's synthesizers on the real Adult census table (32,561 rows x 15 columns).

For each model it measures fit seconds, sampling speed (100,000 rows), peak memory (the process's
peak RSS via ``ru_maxrss`` and the tracemalloc peak of Python allocations during fit + sample) and
the quality checks of the "done when" criteria on a synthetic table as long as the real one:
same columns/order/dtypes, numbers outside the training range, categories never seen in training,
the largest gap in null share, the exact-copy share and the mean KS / TVD over columns. It also
times the ``umbra synthesize`` command end to end once.

Each model is measured in a fresh child process, so its peak RSS is its own. Figures are printed
and appended as a dated markdown section to ``benchmarks/RESULTS.md``.

Usage:
    .venv/bin/python benchmarks/bench_adult.py [--model copula] [--data PATH] [--results PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import datetime as dt
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

import umbra

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_DATA = HERE.parents[1] / "shared/data/adult_census_income/adult_train.csv"
DEFAULT_RESULTS = HERE / "RESULTS.md"
NA_VALUES = ["?"]
SAMPLE_ROWS = 100_000
SEED = 0
MB = 1024.0  # ru_maxrss is in KiB on Linux
RESULTS_HEADER = """# Benchmark results

Measured figures, appended by `benchmarks/bench_adult.py` (one dated section per run; older
sections are kept for comparison). Speed and memory depend on the machine named in each section.
Sections may end with figures from the external yardstick `../shared/bench/judge.py`, run by hand
in its own virtual environment (never a dependency of this project).
"""

T = TypeVar("T")

# Rows of the printed and markdown tables: (key, label, format).
ROWS: list[tuple[str, str, str]] = [
    ("detect_s", "metadata detect (s)", "{:.2f}"),
    ("fit_s", "fit (s, median)", "{:.2f}"),
    ("sample_rows_per_s", f"sample {SAMPLE_ROWS:,} rows (rows/s)", "{:,.0f}"),
    ("rss_read_mb", "peak RSS after read (MB)", "{:,.0f}"),
    ("rss_fit_mb", "peak RSS after fit (MB)", "{:,.0f}"),
    ("rss_sample_mb", "peak RSS after sample (MB)", "{:,.0f}"),
    ("tracemalloc_mb", "tracemalloc peak, fit + sample (MB)", "{:,.1f}"),
    ("same_schema", "same columns, order and dtypes", "{}"),
    ("out_of_range", "numeric values outside training min/max", "{:,}"),
    ("unseen_categories", "categories not in training", "{:,}"),
    ("null_gap_pp", "max null-share gap (pp)", "{:.2f}"),
    ("exact_copy_share", "exact copies of real rows (share)", "{:.4f}"),
    ("mean_ks", "mean KS, numeric columns", "{:.4f}"),
    ("mean_tvd", "mean TVD, categorical columns", "{:.4f}"),
    ("corr_max_diff", "max correlation drift", "{:.4f}"),
    ("warnings", "warnings during fit/sample", "{}"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", action="append", help="model to measure (repeatable; default: copula)"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Adult training CSV")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="markdown to append")
    parser.add_argument("--repeats", type=int, default=3, help="fit/sample timings (median)")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI end-to-end timing")
    args = parser.parse_args(argv)
    args.model = args.model or ["copula"]
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MB


def timed(func: Callable[[], T]) -> tuple[T, float]:
    """Call ``func`` and return its result with the wall seconds it took."""
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def read_adult(path: Path) -> pd.DataFrame:
    """The Adult table, ``?`` read as missing."""
    return umbra.read(path, na_values=NA_VALUES)


def measure_speed(
    model: str, real: pd.DataFrame, meta: umbra.Metadata, repeats: int
) -> tuple[dict[str, Any], umbra.Synthesizer]:
    """Fit and sampling timings (median of ``repeats``) with peak RSS after each phase."""
    fits: list[float] = []
    samples: list[float] = []
    synth: umbra.Synthesizer | None = None
    for _ in range(repeats):
        synth, seconds = timed(lambda: umbra.create(model, random_state=SEED).fit(real, meta))
        fits.append(seconds)
    rss_fit = peak_rss_mb()
    assert synth is not None
    for _ in range(repeats):
        samples.append(timed(lambda: synth.sample(SAMPLE_ROWS))[1])
    figures = {
        "fit_s": statistics.median(fits),
        "sample_rows_per_s": SAMPLE_ROWS / statistics.median(samples),
        "rss_fit_mb": rss_fit,
        "rss_sample_mb": peak_rss_mb(),
    }
    return figures, synth


def tracemalloc_peak_mb(model: str, real: pd.DataFrame, meta: umbra.Metadata) -> float:
    """Peak of Python (and NumPy) allocations traced during one fit and one 100,000-row sample."""
    tracemalloc.start()
    try:
        umbra.create(model, random_state=SEED).fit(real, meta).sample(SAMPLE_ROWS)
        return tracemalloc.get_traced_memory()[1] / 1024**2
    finally:
        tracemalloc.stop()


def out_of_range(real: pd.DataFrame, fake: pd.DataFrame) -> int:
    """Numeric synthetic values below the training minimum or above the training maximum."""
    count = 0
    for name in real.columns:
        column = real[name]
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            continue
        values = pd.to_numeric(fake[name], errors="coerce")
        count += int(((values < column.min()) | (values > column.max())).sum())
    return count


def unseen_categories(real: pd.DataFrame, fake: pd.DataFrame) -> int:
    """Distinct non-missing synthetic values of non-numeric columns never seen in training."""
    count = 0
    for name in real.columns:
        if pd.api.types.is_numeric_dtype(real[name]) and not pd.api.types.is_bool_dtype(real[name]):
            continue
        seen = set(real[name].dropna().unique())
        count += len(set(fake[name].dropna().unique()) - seen)
    return count


def quality(real: pd.DataFrame, fake: pd.DataFrame, meta: umbra.Metadata) -> dict[str, Any]:
    """The "done when" checks on a synthetic table as long as the real one."""
    summary = umbra.summarize(real, fake, meta)
    ks = [c["ks"] for c in summary.columns if c.get("ks") is not None]
    tvd = [c["tvd"] for c in summary.columns if c.get("tvd") is not None]
    gaps = [
        abs(c["null_share_real"] - c["null_share_synthetic"]) * 100
        for c in summary.columns
        if c["null_share_synthetic"] is not None
    ]
    same = list(fake.columns) == list(real.columns) and fake.dtypes.equals(real.dtypes)
    return {
        "same_schema": same,
        "out_of_range": out_of_range(real, fake) if same else "n/a",
        "unseen_categories": unseen_categories(real, fake) if same else "n/a",
        "null_gap_pp": max(gaps, default=0.0),
        "exact_copy_share": summary.exact_copy_share,
        "mean_ks": statistics.fmean(ks) if ks else float("nan"),
        "mean_tvd": statistics.fmean(tvd) if tvd else float("nan"),
        "corr_max_diff": summary.correlation.get("max_abs_diff"),
    }


def describe_warnings(caught: list[warnings.WarningMessage]) -> str:
    """``Category xN`` for each kind of warning caught, or ``none``."""
    counts: dict[str, int] = {}
    for item in caught:
        name = item.category.__name__
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{name} x{n}" for name, n in counts.items()) or "none"


def measure_model(model: str, data: Path, repeats: int) -> dict[str, Any]:
    """Every figure for one model; meant to run in a fresh process."""
    real = read_adult(data)
    figures: dict[str, Any] = {"model": model, "shape": real.shape, "rss_read_mb": peak_rss_mb()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meta, figures["detect_s"] = timed(lambda: umbra.Metadata.detect(real, warn=False))
        speed, synth = measure_speed(model, real, meta, repeats)
        figures.update(speed)
        fake = synth.sample(len(real), random_state=SEED)
    figures["warnings"] = describe_warnings(caught)
    figures["warning_texts"] = sorted({str(w.message) for w in caught})
    figures.update(quality(real, fake, meta))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        figures["tracemalloc_mb"] = tracemalloc_peak_mb(model, real, meta)
    return figures


def measure_in_child(model: str, data: Path, repeats: int) -> dict[str, Any]:
    """Run :func:`measure_model` in a fresh spawned process so peak RSS is the model's own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(measure_model, model, data, repeats).result()


def time_cli(data: Path) -> dict[str, Any]:
    """Wall seconds of ``umbra synthesize`` on the Adult table, end to end, in a fresh process."""
    exe = Path(sys.executable).parent / "umbra"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "adult_synth.csv"
        command = [str(exe), "synthesize", str(data), "-o", str(out)]
        command += ["--na-values", "?", "--seed", "0", "--force"]
        proc, seconds = timed(
            lambda: subprocess.run(command, capture_output=True, text=True, check=False)
        )
    display = f"umbra synthesize {data.name} -o adult_synth.csv --na-values ? --seed 0 --force"
    tail = proc.stderr.strip().splitlines()[-3:] if proc.returncode else []
    return {"command": display, "seconds": seconds, "returncode": proc.returncode, "error": tail}


def format_value(value: Any, pattern: str) -> str:
    """One figure as text; missing values as ``n/a``."""
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:
        return "n/a"
    return pattern.format(value)


def table_rows(results: list[dict[str, Any]]) -> list[list[str]]:
    """Header plus one row per figure, one column per model."""
    rows = [["figure", *(r["model"] for r in results)]]
    for key, label, pattern in ROWS:
        rows.append([label, *(format_value(r.get(key), pattern) for r in results)])
    return rows


def print_table(rows: list[list[str]], cli: dict[str, Any] | None) -> None:
    """A plain aligned table on stdout."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    if cli is not None:
        print(f"\nCLI end to end: {cli['command']}: {cli_text(cli)}")


def cli_text(cli: dict[str, Any]) -> str:
    """The CLI timing as a phrase."""
    if cli["returncode"] == 0:
        return f"{cli['seconds']:.2f} s wall"
    error = " ".join(cli["error"])
    return f"FAILED (exit {cli['returncode']}) after {cli['seconds']:.2f} s: {error}"


def machine_line() -> str:
    """Cores (as ``nproc`` counts them), Python version and git commit."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
        commit = proc.stdout.strip() if proc.returncode == 0 else "none (no commit yet)"
    except OSError:
        commit = "unknown (git not available)"
    return f"{cores} cores (nproc), Python {platform.python_version()}, git commit {commit}"


def markdown(
    results: list[dict[str, Any]], cli: dict[str, Any] | None, data: Path, repeats: int
) -> str:
    """The dated section appended to the results file."""
    rows = table_rows(results)
    n_rows, n_cols = results[0]["shape"]
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [f"## {stamp}", "", "### benchmarks/bench_adult.py", ""]
    lines += [
        f"- Machine: {machine_line()}.",
        f"- Data: `{data.name}`, {n_rows:,} rows x {n_cols} columns, `?` as missing.",
    ]
    lines += [
        f"- Speed: median of {repeats} fit / {SAMPLE_ROWS:,}-row sample runs, seed {SEED}; "
        "each model in a fresh process. Quality: one synthetic table of as many rows as the real."
    ]
    if cli is not None:
        lines.append(f"- CLI end to end (`{cli['command']}`): {cli_text(cli)}.")
    lines += ["", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    texts = sorted({t for r in results for t in r.get("warning_texts", [])})
    if texts:
        lines += ["", "Warnings raised during fit/sample:", ""]
        lines += [f"- {t}" for t in texts]
    return "\n".join(lines) + "\n"


def append_results(path: Path, section: str) -> None:
    """Append ``section`` to ``path``, creating it with a header first if it is absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(RESULTS_HEADER, encoding="utf-8")
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n" + section)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, append; 2 when the Adult table is missing."""
    args = parse_args(argv)
    data = args.data.resolve()
    if not data.is_file():
        print(
            f"bench_adult: the Adult table is missing: {data}\n"
            "Expected ../shared/data/adult_census_income/adult_train.csv next to the repository "
            "(or pass --data PATH).",
            file=sys.stderr,
        )
        return 2
    results = []
    for model in args.model:
        print(f"Measuring {model} ...", file=sys.stderr, flush=True)
        results.append(measure_in_child(model, data, args.repeats))
    cli = None if args.no_cli else time_cli(data)
    print_table(table_rows(results), cli)
    append_results(args.results, markdown(results, cli, data, args.repeats))
    print(f"\nAppended to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
