"""The first validation summary: per-column statistics, correlation drift and exact copies.

Example:
    >>> import pandas as pd
    >>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "a"]})
    >>> fake = pd.DataFrame({"x": [1.0, 2.5, 3.0, 3.5], "c": ["a", "b", "b", "a"]})
    >>> s = summarize(real, fake)
    >>> s.exact_copy_share, s.columns[1]["tvd"]
    (0.25, 0.25)
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from umbra._files import atomic_write_text
from umbra.evaluation.prepare import as_numbers, labels, prepare
from umbra.evaluation.privacy import row_keys
from umbra.evaluation.result import _clean
from umbra.metadata.spec import ColumnSpec, Metadata

QUANTILES = (0.01, 0.5, 0.99)


@dataclass
class Summary:
    """Real vs synthetic, column by column and as a whole."""

    n_real: int
    n_synthetic: int
    columns: list[dict[str, Any]] = field(default_factory=list)
    correlation: dict[str, Any] = field(default_factory=dict)
    exact_copy_share: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers."""
        return _clean(asdict(self))

    def save(self, path: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write the summary as JSON."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
        return atomic_write_text(Path(path), text + "\n", force=force)


def summarize(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata | None = None
) -> Summary:
    """Compare ``synthetic`` with ``real`` column by column."""
    tables = prepare(real, synthetic, metadata)
    summary = Summary(n_real=len(real), n_synthetic=len(synthetic))
    for spec in tables.meta:
        summary.columns.append(_column_stats(spec, real[spec.name], synthetic[spec.name]))
    summary.correlation = _correlation_drift(tables.meta, real, synthetic)
    if tables.columns and len(synthetic):
        train = set(row_keys(tables, real, tables.columns).to_numpy())
        copies = row_keys(tables, synthetic, tables.columns).isin(train)
        summary.exact_copy_share = float(copies.mean())
    return summary


def _column_stats(spec: ColumnSpec, real: pd.Series, fake: pd.Series) -> dict[str, Any]:
    out: dict[str, Any] = {
        "column": spec.name,
        "kind": spec.kind,
        "null_share_real": float(real.isna().mean()),
        "null_share_synthetic": float(fake.isna().mean()) if len(fake) else None,
    }
    if spec.kind in ("numerical", "datetime"):
        from scipy.stats import ks_2samp

        r, f = as_numbers(spec, real), as_numbers(spec, fake)
        r, f = r[np.isfinite(r)], f[np.isfinite(f)]
        for name, values in (("real", r), ("synthetic", f)):
            out[f"mean_{name}"] = float(values.mean()) if len(values) else None
            out[f"variance_{name}"] = float(values.var()) if len(values) else None
            for q in QUANTILES:
                out[f"q{round(q * 100):02d}_{name}"] = (
                    float(np.quantile(values, q)) if len(values) else None
                )
        out["ks"] = float(ks_2samp(r, f, method="asymp").statistic) if len(r) and len(f) else None
    elif spec.kind in ("categorical", "boolean"):
        out["tvd"] = total_variation(real, fake)
    return out


def total_variation(real: pd.Series, fake: pd.Series) -> float:
    """Total variation distance between two columns' category frequencies (missing included)."""
    p = labels(real).value_counts(normalize=True)
    q = labels(fake).value_counts(normalize=True)
    return float(0.5 * p.subtract(q, fill_value=0.0).abs().sum())


def _correlation_drift(meta: Metadata, real: pd.DataFrame, fake: pd.DataFrame) -> dict[str, Any]:
    specs = [s for s in meta if s.kind in ("numerical", "datetime")]
    if len(specs) < 2:
        return {"columns": [s.name for s in specs], "max_abs_diff": None, "mean_abs_diff": None}

    def matrix(df: pd.DataFrame) -> np.ndarray:
        numbers = pd.DataFrame({i: as_numbers(s, df[s.name]) for i, s in enumerate(specs)})
        numbers = numbers.replace([np.inf, -np.inf], np.nan)
        return numbers.corr().to_numpy()

    diff = np.abs(matrix(real) - matrix(fake))[np.triu_indices(len(specs), k=1)]
    diff = diff[np.isfinite(diff)]
    return {
        "columns": [s.name for s in specs],
        "max_abs_diff": float(diff.max()) if len(diff) else None,
        "mean_abs_diff": float(diff.mean()) if len(diff) else None,
    }
