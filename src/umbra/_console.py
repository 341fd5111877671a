"""Terminal output for the CLI: a progress display per stage, tables, and warnings as lines.

Example:
    >>> from rich.console import Console
    >>> console = Console(file=__import__("io").StringIO())
    >>> with stage(console, "Counting"):
    ...     total = sum(range(10))
    >>> total
    45
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from umbra.evaluation.result import Evaluation
from umbra.evaluation.summary import Summary
from umbra.metadata.spec import Metadata


@contextmanager
def stage(console: Console, label: str) -> Iterator[None]:
    """Show a spinner while the stage runs, then a line with its duration."""
    start = time.perf_counter()
    with console.status(f"{label}…", spinner="dots"):
        yield
    console.print(f"[green]✓[/green] {label} [dim]({time.perf_counter() - start:.1f} s)[/dim]")


def route_warnings(console: Console) -> None:
    """Print warnings as one readable line each instead of Python's source-line format."""

    def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        console.print(f"[yellow]warning ({category.__name__}):[/yellow] {message}", highlight=False)

    warnings.showwarning = show


def metadata_table(meta: Metadata) -> Table:
    """One row per column: kind, dtype, nulls, bounds or categories and their source."""
    table = Table(title="Detected metadata", title_justify="left")
    for header in ("column", "kind", "dtype", "nullable", "domain", "source"):
        table.add_column(header)
    for c in meta:
        if c.categories is not None:
            shown = ", ".join(map(str, c.categories[:4])) + (" …" if len(c.categories) > 4 else "")
            domain, source = f"{len(c.categories)} categories: {shown}", c.categories_source
        elif c.bounds is not None:
            domain, source = f"[{c.bounds[0]}, {c.bounds[1]}]", c.bounds_source
        else:
            domain, source = c.pii_type or c.id_pattern or "", "-"
        table.add_row(
            str(c.name), c.kind, c.dtype, "yes" if c.nullable else "no", domain, source or "-"
        )
    return table


def summary_table(summary: Summary) -> Table:
    """Real vs synthetic per column, with the distance that fits the column's kind."""
    table = Table(
        title=f"Validation summary: real / synthetic ({summary.n_real:,} real rows, "
        f"{summary.n_synthetic:,} synthetic rows)",
        title_justify="left",
    )
    for header in ("column", "mean", "q01", "q99", "null %", "KS/TVD"):
        table.add_column(header, justify="right" if header != "column" else "left")
    for c in summary.columns:
        numeric = c["kind"] in ("numerical", "datetime")
        dates = c["kind"] == "datetime"
        mean, q01, q99 = (_pair(c, k, dates) if numeric else "" for k in ("mean", "q01", "q99"))
        nulls = f"{_pct(c['null_share_real'])} / {_pct(c['null_share_synthetic'])}"
        distance = c.get("ks", c.get("tvd"))
        table.add_row(str(c["column"]), mean, q01, q99, nulls, _fmt(distance))
    return table


def _pair(stats: dict[str, Any], key: str, dates: bool) -> str:
    show = _date if dates else _fmt
    return f"{show(stats.get(key + '_real'))} / {show(stats.get(key + '_synthetic'))}"


def _date(seconds: Any) -> str:
    """Seconds since the epoch as an ISO date."""
    return "-" if seconds is None else pd.Timestamp(round(seconds), unit="s").strftime("%Y-%m-%d")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1e5:
        return f"{value:.3g}"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def closing_lines(summary: Summary) -> list[str]:
    """Whole-table figures under the summary table."""
    corr = summary.correlation
    lines = [f"Synthetic rows identical to a real row: {100 * summary.exact_copy_share:.2f}%"]
    if corr.get("max_abs_diff") is not None:
        lines.append(
            f"Correlation difference over {len(corr['columns'])} numeric columns: "
            f"max {corr['max_abs_diff']:.3f}, mean {corr['mean_abs_diff']:.3f}"
        )
    return lines


def evaluation_table(ev: Evaluation) -> Table:
    """Headline metrics per family, then the gate checks, under the verdict as title."""
    from umbra.report.html import HEADLINES, fmt

    colour = {"pass": "green", "fail": "red", "risky": "yellow"}.get(ev.verdict, "white")
    table = Table(title=f"Audit verdict: [{colour}]{ev.verdict}[/{colour}]", title_justify="left")
    for header in ("family", "metric", "value", "95% interval / threshold"):
        table.add_column(header, justify="right" if header == "value" else "left")
    for family, names in HEADLINES.items():
        for metric in ev.family(family):
            if metric.column is None and metric.name in names:
                ci = f"{fmt(metric.ci[0])} – {fmt(metric.ci[1])}" if metric.ci else ""
                table.add_row(family, metric.name, fmt(metric.value), ci)
    for check in ev.gate:
        mark = "[green]passed[/green]" if check.passed else "[red]FAILED[/red]"
        table.add_row("gate", check.metric, fmt(check.value), f"<= {fmt(check.threshold)} {mark}")
    return table
