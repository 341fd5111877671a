"""The ``umbra`` command line: thin over the public API.

Example:
    >>> run(["--version"])
    umbra 0.1.0
    0
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console

from umbra import __version__
from umbra._cli_fit import (
    DP,
    Conditions,
    ModelName,
    SequenceIndex,
    SequenceKey,
    Settings,
    conditions,
    fit_model,
    how_many,
    model_for,
    with_sequence,
    write_table,
    xes_names,
)
from umbra._console import (
    closing_lines,
    evaluation_table,
    metadata_table,
    route_warnings,
    stage,
    summary_table,
)
from umbra._files import check_outputs
from umbra.evaluation.evaluate import evaluate
from umbra.evaluation.prepare import same_columns
from umbra.evaluation.result import Evaluation
from umbra.evaluation.summary import summarize
from umbra.exceptions import InputError, ReleaseRefused, UmbraError
from umbra.io.tables import read, table_format
from umbra.metadata.sequence import detect_sequence
from umbra.metadata.spec import Metadata
from umbra.privacy.ledger import Ledger, fingerprint
from umbra.release import GateOptions, report_paths, split_holdout
from umbra.synthesizers import available, load

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Umbra: privacy-preserving synthetic data.",
)
console = Console(stderr=True)

NaValues = Annotated[
    list[str] | None,
    typer.Option(
        "--na-values", help="Extra text read as missing in CSV input (repeatable), e.g. '?'."
    ),
]
Force = Annotated[bool, typer.Option("--force", help="Replace existing output files.")]
Epsilon = Annotated[
    float | None,
    typer.Option("--epsilon", help="Differential-privacy budget (models that support it)."),
]
Delta = Annotated[float, typer.Option("--delta", help="Differential-privacy delta, below 1/n.")]
LedgerPath = Annotated[
    Path | None,
    typer.Option("--ledger", help="Privacy ledger (default: $UMBRA_LEDGER or ~/.umbra)."),
]
Seed = Annotated[
    int | None, typer.Option("--seed", min=0, help="Random seed for reproducible output.")
]


def _suffix(path: Path, suffix: str, what: str) -> None:
    if path.suffix.lower() != suffix:
        raise InputError(f"{path}: a {what} file must end in {suffix}; rename the output.")


def _read(path: Path, na_values: list[str] | None) -> pd.DataFrame:
    with stage(console, f"Reading {path}"):
        return read(path, na_values=na_values)


def _metadata(df: pd.DataFrame, path: Path | None) -> Metadata:
    if path is not None:
        with stage(console, f"Loading metadata {path}"):
            meta = Metadata.load(path)
            meta.validate(df)
        return meta
    with stage(console, "Detecting column kinds"):
        return Metadata.detect(df, warn=False)


@app.command()
def detect(
    input: Annotated[Path, typer.Argument(help="CSV, Parquet or XES table.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Metadata JSON to write.")],
    sequence_key: SequenceKey = None,
    sequence_index: SequenceIndex = None,
    na_values: NaValues = None,
    force: Force = False,
) -> None:
    """Detect column kinds, bounds and categories, and save them as editable JSON."""
    _suffix(output, ".json", "metadata")
    check_outputs([output], [input], force=force)
    df = _read(input, na_values)
    with stage(console, "Detecting column kinds"):
        meta = with_sequence(df, Metadata.detect(df), sequence_key, sequence_index)
    console.print(metadata_table(meta))
    meta.save(output, force=force)
    console.print(f"Metadata written to {output}. Edit bounds/categories you can declare public.")


ReportPath = Annotated[
    Path | None,
    typer.Option("--report", help="HTML report to write (default: next to the output)."),
]
Target = Annotated[
    str | None, typer.Option("--target", help="Column for train-on-synthetic utility.")
]
Sensitive = Annotated[
    list[str] | None,
    typer.Option("--sensitive", help="Column checked by attribute inference (repeatable)."),
]
Quasi = Annotated[
    list[str] | None,
    typer.Option("--quasi-identifier", help="Column an attacker may know (repeatable)."),
]
GateConfig = Annotated[
    Path | None, typer.Option("--gate-config", help="TOML/JSON file with a \\[gate] table.")
]
Threshold = Annotated[
    list[str] | None,
    typer.Option("--threshold", help="Gate maximum as NAME=VALUE (repeatable)."),
]


@app.command()
def synthesize(
    input: Annotated[Path, typer.Argument(help="CSV, Parquet or XES table to imitate.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Synthetic table to write.")],
    rows: Annotated[
        int | None, typer.Option("--rows", min=0, help="Rows (default: as input).")
    ] = None,
    entities: Annotated[
        int | None,
        typer.Option("--entities", min=0, help="Sequence tables: entities (default: as input)."),
    ] = None,
    model: ModelName = None,
    param: Settings = None,
    sequence_key: SequenceKey = None,
    sequence_index: SequenceIndex = None,
    seed: Seed = None,
    condition: Conditions = None,
    metadata: Annotated[Path | None, typer.Option("--metadata", help="Metadata JSON.")] = None,
    holdout: Annotated[
        Path | None,
        typer.Option("--holdout", help="Real rows kept from training (default: 20% of INPUT)."),
    ] = None,
    target: Target = None,
    sensitive: Sensitive = None,
    quasi_identifier: Quasi = None,
    report: ReportPath = None,
    summary: Annotated[
        Path | None, typer.Option("--summary", help="Summary JSON to write.")
    ] = None,
    gate_config: GateConfig = None,
    threshold: Threshold = None,
    allow_risky: Annotated[
        bool, typer.Option("--allow-risky", help="Write even if privacy checks fail.")
    ] = False,
    na_values: NaValues = None,
    epsilon: Epsilon = None,
    delta: Delta = 1e-9,
    ledger: LedgerPath = None,
    force: Force = False,
) -> None:
    """Fit a model on INPUT, sample, audit privacy, and write the table only if it passes."""
    table_format(output)
    html, json_path = report_paths(output, report)
    sources = [input, holdout, metadata, gate_config]
    check_outputs([output, html, json_path, summary], sources, force=force)
    gate = GateOptions(gate_config, threshold or [], allow_risky)
    gate.limits()  # a broken gate config fails now, before any work
    wanted = conditions(condition)
    df = _read(input, na_values)
    found = detect_sequence(df) if sequence_key is None else None
    by = sequence_key or (found.key if found is not None else None)
    train, kept = _split(df, holdout, na_values, seed, by)
    meta = with_sequence(train, _metadata(train, metadata), sequence_key, sequence_index)
    if target is not None and target not in meta.names:  # before the fit, not after it
        raise InputError(
            f"--target {target!r} is not a column of {input}; choose one of {meta.names}"
        )
    model_name = model_for(meta, model, epsilon)
    n = how_many(df, meta, model_name, rows, entities)
    xes_names(output, meta, list(df.columns))  # an impossible output fails before the fit
    dp = DP(epsilon, delta, ledger, fingerprint(df))  # the spend is on the whole input
    synth = fit_model(console, train, meta, model_name, seed, dp, param)
    what = "entities" if model_name in available("sequence") else "rows"
    with stage(console, f"Sampling {n:,} {what}"):
        fake = synth.sample(n, conditions=wanted)
    # a domain learned under DP clips the real data; the audit judges the real schema
    dp_domain = getattr(synth, "privacy_spent_", {}).get("learned_under_dp")
    audit_meta = meta if dp_domain else synth.metadata_
    _summarize(train, fake, audit_meta, summary, force)
    with stage(console, "Auditing fidelity, utility and privacy"):
        ev = evaluate(
            train,
            fake,
            audit_meta,
            holdout=kept,
            target=target,
            sensitive=sensitive,
            quasi_identifiers=quasi_identifier,
            thresholds=gate.limits(),
            model=synth,
            random_state=seed,
        )
    ev.allow_risky = allow_risky
    if dp.epsilon is not None and dp.source is not None:
        total = Ledger(dp.ledger).total(dp.source)
        ev.info["ledger"] = {"source": dp.source, **vars(total)} | {"path": str(dp.ledger or "")}
    _write_report(ev, html, json_path, force)
    if not ev.released and not allow_risky:
        failures = [c.describe() for c in ev.gate if not c.passed]
        raise ReleaseRefused(failures, str(html))
    with stage(console, f"Writing {output}"):
        write_table(fake, output, meta, force=force)
    console.print(f"Synthetic table written to {output} (verdict: {ev.verdict})")


def _split(
    df: pd.DataFrame,
    holdout: Path | None,
    na_values: list[str] | None,
    seed: int | None,
    by: object = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training rows and the holdout: a given file, or 20% of the input (of its entities,
    for a sequence table keyed by ``by``) set aside."""
    if holdout is not None:
        kept = _read(holdout, na_values)
        same_columns(list(df.columns), kept, f"holdout ({holdout})")  # before any training
        return df, kept
    train, kept = split_holdout(df, 0.2, seed, by=by)
    unit = "rows" if by is None else f"rows ({kept[by].nunique():,} entities)"
    console.print(f"Holding out {len(kept):,} random {unit} the model never sees.")
    return train, kept


def _summarize(
    df: pd.DataFrame, fake: pd.DataFrame, meta: Metadata, path: Path | None, force: bool
) -> None:
    with stage(console, "Comparing synthetic with real"):
        result = summarize(df, fake, meta)
    console.print(summary_table(result))
    for line in closing_lines(result):
        console.print(line)
    if path is not None:
        result.save(path, force=force)
        console.print(f"Summary written to {path}")


def _write_report(ev: Evaluation, html: Path, json_path: Path, force: bool) -> None:
    console.print(evaluation_table(ev))
    with stage(console, f"Writing the report {html}"):
        ev.to_html(html, force=force)
        ev.to_json(json_path, force=force)


@app.command("evaluate")
def evaluate_command(
    real: Annotated[Path, typer.Option("--real", help="The real (training) table.")],
    synthetic: Annotated[Path, typer.Option("--synthetic", help="The synthetic table.")],
    holdout: Annotated[
        Path | None, typer.Option("--holdout", help="Real rows the model never saw.")
    ] = None,
    target: Target = None,
    metadata: Annotated[Path | None, typer.Option("--metadata", help="Metadata JSON.")] = None,
    sensitive: Sensitive = None,
    quasi_identifier: Quasi = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="JSON file to write.")] = None,
    report: ReportPath = None,
    gate_config: GateConfig = None,
    threshold: Threshold = None,
    seed: Seed = 0,
    sequence_key: SequenceKey = None,
    sequence_index: SequenceIndex = None,
    na_values: NaValues = None,
    force: Force = False,
) -> None:
    """Measure fidelity, utility and privacy of a synthetic table against the real one."""
    check_outputs([json_out, report], [real, synthetic, holdout, metadata], force=force)
    limits = GateOptions(gate_config, threshold or []).limits()
    real_df, fake = _read(real, na_values), _read(synthetic, na_values)
    kept = _read(holdout, na_values) if holdout is not None else None
    meta = with_sequence(real_df, _metadata(real_df, metadata), sequence_key, sequence_index)
    with stage(console, "Auditing fidelity, utility and privacy"):
        ev = evaluate(
            real_df,
            fake,
            meta,
            holdout=kept,
            target=target,
            sensitive=sensitive,
            quasi_identifiers=quasi_identifier,
            thresholds=limits,
            random_state=seed,
        )
    console.print(evaluation_table(ev))
    if report is not None:
        ev.to_html(report, force=force)
        console.print(f"Report written to {report}")
    if json_out is not None:
        ev.to_json(json_out, force=force)
        console.print(f"JSON written to {json_out}")


@app.command()
def fit(
    input: Annotated[Path, typer.Argument(help="CSV, Parquet or XES table to learn.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model file to write (.umbra).")],
    model: ModelName = None,
    param: Settings = None,
    sequence_key: SequenceKey = None,
    sequence_index: SequenceIndex = None,
    seed: Seed = None,
    metadata: Annotated[Path | None, typer.Option("--metadata", help="Metadata JSON.")] = None,
    na_values: NaValues = None,
    epsilon: Epsilon = None,
    delta: Delta = 1e-9,
    ledger: LedgerPath = None,
    force: Force = False,
) -> None:
    """Fit a model on INPUT and save it."""
    _suffix(output, ".umbra", "model")
    check_outputs([output], [input, metadata], force=force)
    df = _read(input, na_values)
    meta = with_sequence(df, _metadata(df, metadata), sequence_key, sequence_index)
    name = model_for(meta, model, epsilon)
    synth = fit_model(console, df, meta, name, seed, DP(epsilon, delta, ledger), param)
    synth.save(output, force=force)
    console.print(f"Model written to {output}")


@app.command()
def sample(
    model: Annotated[Path, typer.Argument(help="Model file written by `umbra fit`.")],
    rows: Annotated[
        int, typer.Option("--rows", min=0, help="Number of rows (entities, for sequence models).")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Synthetic table to write.")],
    seed: Seed = None,
    condition: Conditions = None,
    force: Force = False,
) -> None:
    """Sample ROWS synthetic rows from a saved model (fresh rows each run unless --seed)."""
    table_format(output)
    check_outputs([output], [model], force=force)
    wanted = conditions(condition)
    with stage(console, f"Loading {model}"):
        synth = load(model)
    what = "entities" if synth.name in available("sequence") else "rows"
    xes_names(output, synth.metadata_, synth.metadata_.names)
    with stage(console, f"Sampling {rows:,} {what}"):
        rng = np.random.default_rng(seed)
        fake = synth.sample(rows, conditions=wanted, random_state=rng)
    write_table(fake, output, synth.metadata_, force=force)
    console.print(f"Synthetic table written to {output}")


@app.command()
def demo(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Folder for the results.")
    ] = Path("demo_output"),
    seed: Seed = 0,
    force: Force = False,
) -> None:
    """Synthesize a real public clinical table (GBSG2, shipped with lifelines) end to end."""
    from umbra.datasets import DEMO_DESCRIPTION, demo_metadata, demo_path

    console.print(f"[bold]Demo table:[/bold] {DEMO_DESCRIPTION}")
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError(f"{output_dir}: is a file; --output-dir needs a folder.")
    output_dir.mkdir(parents=True, exist_ok=True)
    meta_path = output_dir / "gbsg2_metadata.json"
    check_outputs([meta_path], [], force=force)
    meta = demo_metadata()
    console.print(metadata_table(meta))
    meta.save(meta_path, force=force)
    synthesize(
        input=demo_path(),
        output=output_dir / "gbsg2_synthetic.csv",
        seed=seed,
        metadata=meta_path,
        target="cens",
        report=output_dir / "report.html",
        summary=output_dir / "summary.json",
        force=force,
    )
    console.print(f"Open {output_dir / 'report.html'} in a browser to read the report.")


@app.command("ledger")
def ledger_command(
    source: Annotated[
        str | None, typer.Argument(help="A data file, or a source fingerprint (or its start).")
    ] = None,
    cap: Annotated[
        float | None, typer.Option("--cap", help="Set the source's total epsilon cap.")
    ] = None,
    ledger: LedgerPath = None,
    na_values: NaValues = None,
) -> None:
    """Show the privacy spent on SOURCE (every source without one), or set its cap."""
    book = Ledger(ledger)
    key = None
    if source is not None:
        looks_like_file = Path(source).suffix or "/" in source
        if looks_like_file and not Path(source).is_file():
            raise InputError(f"SOURCE {source!r}: no such file; give a data file or a fingerprint")
        key = fingerprint(_read(Path(source), na_values)) if Path(source).is_file() else source
    if cap is not None:
        if key is None:
            raise InputError("--cap needs a SOURCE (a data file or its fingerprint)")
        key = book.set_cap(key, epsilon=cap)
        typer.echo(f"Cap of source {key} set to epsilon {cap:g}")
    for line in book.describe(key):
        typer.echo(line)


@app.command()
def models() -> None:
    """List the available models."""
    for name in available():
        typer.echo(name)


@app.callback(invoke_without_command=True)
def _version(
    version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False,
) -> None:
    if version:
        typer.echo(f"umbra {__version__}")
        raise typer.Exit()


def run(args: list[str] | None = None) -> int:
    """Run the CLI on ``args``; Umbra's errors become one red line and exit code 2.

    Example:
        >>> run(["models"])
        aim
        ar
        copula
        ctgan
        mst
        sequence
        tvae
        0
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            route_warnings(console)
            app(args=args, prog_name="umbra")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except ReleaseRefused as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        return 3
    except UmbraError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        return 2
    except KeyboardInterrupt:
        console.print("[red]aborted[/red]")
        return 130
    return 0


def main() -> None:
    """Console entry point."""
    sys.exit(run())
