"""Metrics and the :class:`Evaluation` that groups them by family (fidelity, utility, privacy).

Example:
    >>> m = Metric("privacy", "exact_copy_share", 0.0, "lower", detail="rows identical to train")
    >>> ev = Evaluation([m])
    >>> ev.get("exact_copy_share").value
    0.0
    >>> ev.family("privacy")[0].name
    'exact_copy_share'
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from umbra._files import atomic_write_text
from umbra.exceptions import InputError

FAMILIES = ("fidelity", "utility", "privacy")
DIRECTIONS = ("higher", "lower", "target")


@dataclass
class Metric:
    """One figure: ``direction`` says which way is better (``target``: closer to ``target``)."""

    family: str
    name: str
    value: float | None
    direction: str
    ci: tuple[float, float] | None = None
    column: str | None = None
    target: float | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return _clean(asdict(self))


@dataclass
class GateCheck:
    """One release-gate check: the metric, its threshold and whether it passed."""

    metric: str
    value: float | None
    threshold: float
    comparison: str
    passed: bool
    explanation: str

    def describe(self) -> str:
        """One line: value against threshold."""
        shown = "n/a" if self.value is None else f"{self.value:.4g}"
        status = "passed" if self.passed else "FAILED"
        return f"{self.metric} = {shown} (must be {self.comparison} {self.threshold:g}): {status}"


@dataclass
class Evaluation:
    """All metrics of one real/synthetic comparison, plus what the report draws.

    ``figures`` holds the arrays behind the plots (histograms, matrices, distances);
    ``gate`` the release-gate checks once :func:`umbra.evaluation.gate.apply_gate` ran.
    """

    metrics: list[Metric] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    gate: list[GateCheck] = field(default_factory=list)
    allow_risky: bool = False

    def add(self, metric: Metric) -> None:
        """Append one metric."""
        self.metrics.append(metric)

    def get(self, name: str, column: str | None = None) -> Metric:
        """The metric called ``name`` (for ``column``, when per column)."""
        for metric in self.metrics:
            if metric.name == name and metric.column == column:
                return metric
        raise InputError(f"no metric {name!r}{f' for column {column!r}' if column else ''}")

    def family(self, family: str) -> list[Metric]:
        """Metrics of one family, in the order they were computed."""
        return [m for m in self.metrics if m.family == family]

    @property
    def released(self) -> bool:
        """True when every gate check passed (or there was no gate)."""
        return all(check.passed for check in self.gate)

    @property
    def verdict(self) -> str:
        """``pass``, ``fail``, ``risky`` (failed, released anyway) or ``not gated``."""
        if not self.gate:
            return "not gated"
        if self.released:
            return "pass"
        return "risky" if self.allow_risky else "fail"

    def to_dict(self) -> dict[str, Any]:
        """The numbers, JSON-ready (figures' raw arrays are left to the HTML report)."""
        return _clean(
            {
                "verdict": self.verdict,
                "allow_risky": self.allow_risky,
                "gate": [asdict(c) for c in self.gate],
                "info": self.info,
                "metrics": {f: [m.to_dict() for m in self.family(f)] for f in FAMILIES},
            }
        )

    def to_json(self, path: str | os.PathLike[str] | None = None, *, force: bool = False) -> str:
        """The JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        if path is not None:
            atomic_write_text(Path(path), text, force=force)
        return text

    def to_html(self, path: str | os.PathLike[str] | None = None, *, force: bool = False) -> str:
        """A self-contained HTML report; also written to ``path`` when given."""
        from umbra.report.html import render

        text = render(self)
        if path is not None:
            atomic_write_text(Path(path), text, force=force)
        return text


def _clean(obj: Any) -> Any:
    """Make nested values JSON-safe: NaN/inf become None, NumPy scalars Python ones."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
