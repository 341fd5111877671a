"""Render an :class:`~umbra.evaluation.result.Evaluation` as one self-contained HTML page.

Example:
    >>> from umbra.evaluation.result import Evaluation, Metric
    >>> page = render(Evaluation([Metric("fidelity", "column_shapes", 0.97, "higher")]))
    >>> 'id="verdict"' in page and "0.97" in page
    True
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from umbra.evaluation.result import FAMILIES, Evaluation, Metric
from umbra.report import plots

HEADLINES = {
    "fidelity": ["column_shapes", "pair_trends", "detection_auc", "association_drift_max",
                 "activity_tvd", "sequence_length_ks", "directly_follows_similarity",
                 "variant_coverage", "case_duration_ks"],
    "utility": ["tstr_roc_auc_boosting", "trtr_roc_auc_boosting",
                "tstr_trtr_ratio_roc_auc_boosting", "tstr_r2_boosting", "trtr_r2_boosting"],
    "privacy": ["exact_copy_share", "exact_copy_share_holdout", "dcr_share", "membership_auc",
                "singling_out_share", "singling_out_share_holdout", "unique_trace_copy_share",
                "unique_trace_copy_share_holdout", "sequence_dcr_close_share"],
}  # fmt: skip
VERDICT_TEXT = {
    "pass": "Release allowed: every privacy check passed.",
    "fail": "Release refused: privacy checks failed. The synthetic table was not written.",
    "risky": "Released despite failed privacy checks (--allow-risky). Treat it as personal data.",
    "not gated": "No release gate was applied.",
}


def fmt(value: Any) -> str:
    """A number for people: 4 significant digits, '-' for missing.

    Example:
        >>> fmt(0.123456), fmt(None), fmt(12345.6)
        ('0.1235', '-', '1.235e+04')
    """
    if value is None:
        return "-"
    if isinstance(value, int | float):
        return f"{value:.4g}"
    return str(value)


def _rows(ev: Evaluation, family: str, headline: bool) -> list[Metric]:
    metrics = [m for m in ev.family(family) if m.column is None]
    if not headline:
        return metrics
    order = {name: i for i, name in enumerate(HEADLINES[family])}
    return sorted((m for m in metrics if m.name in order), key=lambda m: order[m.name])


def _column_plots(ev: Evaluation) -> list[dict[str, Any]]:
    out = []
    for name, stats in ev.figures.get("columns", {}).items():
        title = f"{name} (shape {stats['shape']:.3f})"
        if "edges" in stats:
            svg = plots.histogram(stats["edges"], stats["real"], stats["synthetic"], title)
        elif "categories" in stats:
            svg = plots.bars(stats["categories"], stats["real"], stats["synthetic"], title)
        else:
            continue
        missing = stats.get("missing_categories") or []
        out.append({"name": name, "svg": svg, "missing": missing})
    return out


def _matrices(ev: Evaluation) -> list[dict[str, str]]:
    pairs = ev.figures.get("pairs")
    if not pairs or len(pairs["columns"]) < 2:
        return []
    import numpy as np

    names = pairs["columns"]
    real, fake = np.asarray(pairs["real"]), np.asarray(pairs["synthetic"])
    return [
        {"title": "real", "svg": plots.heatmap(real, names, "real")},
        {"title": "synthetic", "svg": plots.heatmap(fake, names, "synthetic")},
        {"title": "difference", "svg": plots.heatmap(fake - real, names, "synthetic - real", True)},
    ]


def render(ev: Evaluation) -> str:
    """The report as an HTML string."""
    from jinja2 import Environment

    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    template = env.from_string(
        resources.files("umbra.report").joinpath("report.html.j2").read_text()
    )
    distances = ev.figures.get("distances")
    history = ev.info.get("loss_history")
    return template.render(
        ev=ev,
        verdict=ev.verdict,
        verdict_text=VERDICT_TEXT[ev.verdict],
        families=FAMILIES,
        headline={f: _rows(ev, f, True) for f in FAMILIES},
        every={f: _rows(ev, f, False) for f in FAMILIES},
        per_column=[m for m in ev.metrics if m.column is not None],
        column_plots=_column_plots(ev),
        matrices=_matrices(ev),
        distances_svg=plots.distances(distances["to_train"], distances["to_holdout"])
        if distances
        else None,
        loss_svg=plots.losses(history) if history else None,
        utility=ev.figures.get("utility"),
    )
