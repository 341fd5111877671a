"""Fidelity: per-column shapes and statistics, pairwise dependence, and a two-sample test.

Column shapes and pair trends follow SDMetrics' definitions (KS / total variation complements;
Pearson similarity for number pairs, contingency similarity with 10 bins otherwise), so the
scores can be compared with theirs.

Example:
    >>> import pandas as pd
    >>> from umbra.evaluation.prepare import prepare
    >>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
    >>> ev = Evaluation()
    >>> column_metrics(prepare(real, real.copy()), ev)
    >>> ev.get("column_shapes").value
    1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from umbra.evaluation.prepare import Features, Tables, labels
from umbra.evaluation.result import Evaluation, Metric

BINS = 10
RARE = 0.01
MAX_DETECTION_ROWS = 10_000


def _metric(ev: Evaluation, name: str, value: float | None, direction: str, **kw: Any) -> None:
    ev.add(Metric("fidelity", name, value, direction, **kw))


def column_metrics(tables: Tables, ev: Evaluation) -> None:
    """Shape, moments, tails, coverage and null share of every compared column."""
    shapes, per_column = [], {}
    for name in tables.columns:
        col = str(name)
        real, fake = tables.train[name], tables.synthetic[name]
        null_gap = abs(float(real.isna().mean()) - float(fake.isna().mean()))
        _metric(ev, "null_share_difference", null_gap, "lower", column=col)
        if name in tables.numeric:
            stats = _numeric_column(tables, name, ev)
        else:
            stats = _categorical_column(real, fake, col, ev)
        shapes.append(stats["shape"])
        per_column[col] = stats | {"kind": tables.meta[name].kind, "null_gap": null_gap}
    _metric(
        ev,
        "column_shapes",
        float(np.mean(shapes)) if shapes else None,
        "higher",
        detail="mean of 1 - KS (numbers, dates) and 1 - TVD (categories); SDMetrics' definition",
    )
    ev.figures["columns"] = per_column


def _numeric_column(tables: Tables, name: Any, ev: Evaluation) -> dict[str, Any]:
    from scipy.stats import ks_2samp

    col = str(name)
    r, f = tables.numbers(tables.train, name), tables.numbers(tables.synthetic, name)
    r, f = r[~np.isnan(r)], f[~np.isnan(f)]
    if len(r) == 0 or len(f) == 0:
        shape = 1.0 if len(r) == len(f) == 0 else 0.0
        _metric(ev, "shape", shape, "higher", column=col, detail="a side has no values")
        return {"shape": shape}
    shape = 1.0 - float(ks_2samp(r, f, method="asymp").statistic)
    span = float(r.max() - r.min()) or 1.0
    std = float(r.std()) or 1.0
    coverage = (min(f.max(), r.max()) - max(f.min(), r.min())) / span if span else 1.0
    _metric(ev, "shape", shape, "higher", column=col, detail="1 - Kolmogorov-Smirnov statistic")
    _metric(
        ev,
        "mean_difference",
        abs(f.mean() - r.mean()) / std,
        "lower",
        column=col,
        detail="|mean difference| in real standard deviations",
    )
    _metric(
        ev,
        "variance_ratio",
        float(f.var() / r.var()) if r.var() else None,
        "target",
        target=1.0,
        column=col,
    )
    for q in (0.01, 0.99):
        gap = abs(np.quantile(f, q) - np.quantile(r, q)) / span
        _metric(
            ev,
            f"q{round(q * 100):02d}_difference",
            float(gap),
            "lower",
            column=col,
            detail="|quantile difference| as a share of the real range",
        )
    _metric(ev, "range_coverage", float(np.clip(coverage, 0, 1)), "higher", column=col)
    edges = np.histogram_bin_edges(np.concatenate([r, f]), bins=30)
    return {
        "shape": shape,
        "mean": [float(r.mean()), float(f.mean())],
        "edges": edges.tolist(),
        "real": np.histogram(r, edges)[0].tolist(),
        "synthetic": np.histogram(f, edges)[0].tolist(),
    }


def _categorical_column(
    real: pd.Series, fake: pd.Series, col: str, ev: Evaluation
) -> dict[str, Any]:
    p = labels(real.dropna()).value_counts(normalize=True)
    q = labels(fake.dropna()).value_counts(normalize=True)
    tvd = 0.5 * float(p.subtract(q, fill_value=0.0).abs().sum()) if len(p) and len(q) else 1.0
    shape = 1.0 - tvd if len(p) or len(q) else 1.0
    missing = [str(c) for c in p.index if c not in q.index]
    rare = [c for c in p.index if p[c] < RARE]
    unseen = float(q[[c for c in q.index if c not in p.index]].sum())
    _metric(ev, "shape", shape, "higher", column=col, detail="1 - total variation distance")
    _metric(
        ev,
        "category_coverage",
        1 - len(missing) / len(p) if len(p) else 1.0,
        "higher",
        column=col,
        detail=f"missing: {missing[:10]}" if missing else "",
    )
    if rare:
        kept = sum(c in q.index for c in rare) / len(rare)
        _metric(
            ev,
            "rare_category_coverage",
            kept,
            "higher",
            column=col,
            detail=f"categories under {RARE:.0%} of real rows that appear in the synthetic",
        )
    _metric(
        ev,
        "unseen_category_share",
        unseen,
        "lower",
        column=col,
        detail="synthetic values that are not real categories",
    )
    top = p.index[:20].tolist()
    return {
        "shape": shape,
        "categories": [str(c) for c in top],
        "real": p.reindex(top).fillna(0).tolist(),
        "synthetic": q.reindex(top).fillna(0).tolist(),
        "missing_categories": missing,
    }


def _codes(tables: Tables, name: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes of a column in train and synthetic: 10 real-histogram bins for numbers."""
    if name in tables.numeric:
        r, f = tables.numbers(tables.train, name), tables.numbers(tables.synthetic, name)
        finite = r[~np.isnan(r)]
        edges = np.histogram_bin_edges(finite if len(finite) else [0.0], bins=BINS)
        edges[0], edges[-1] = -np.inf, np.inf
        return np.digitize(r, edges), np.digitize(f, edges), BINS + 2
    both = pd.concat([labels(tables.train[name]), labels(tables.synthetic[name])])
    codes, uniques = pd.factorize(both)
    n = len(tables.train)
    return codes[:n], codes[n:], len(uniques)


STRONG_CORRELATION = 0.5
STRONG_ASSOCIATION = 0.3


def pair_metrics(tables: Tables, ev: Evaluation) -> None:
    """Pair trends, association matrices (real, synthetic, drift) and contingency similarity.

    ``pair_trends`` averages, like SDMetrics' quality report, only the pairs that are related in
    the real data (|Pearson| > 0.5 for two numbers, Cramér's V > 0.3 otherwise, on 10 bins);
    ``pair_trends_all_pairs`` averages every pair.
    """
    names = tables.columns
    k = len(names)
    codes = [_codes(tables, n) for n in names]
    trends, strong = np.full((k, k), np.nan), np.zeros((k, k), dtype=bool)
    assoc_real, assoc_fake = np.eye(k), np.eye(k)
    for i, j in zip(*np.triu_indices(k, 1), strict=True):
        a, b = names[i], names[j]
        trends[i, j], strong[i, j] = _pair_trend(tables, a, b, codes[i], codes[j])
        assoc_real[i, j], assoc_fake[i, j] = _association(tables, a, b, codes[i], codes[j])
        trends[j, i], assoc_real[j, i], assoc_fake[j, i] = (
            trends[i, j],
            assoc_real[i, j],
            assoc_fake[i, j],
        )
    upper = np.triu_indices(k, 1)
    every, related = trends[upper], trends[upper][strong[upper]]
    numeric = np.array([n in tables.numeric for n in names], dtype=bool)
    contingency = every[~(numeric[upper[0]] & numeric[upper[1]])]
    drift = np.abs(assoc_real - assoc_fake)[upper]
    _metric(
        ev,
        "pair_trends",
        _mean(related),
        "higher",
        detail=f"mean over the {int(np.isfinite(related).sum())} column pairs related in the "
        "real data; SDMetrics' Column Pair Trends definition",
    )
    _metric(ev, "pair_trends_all_pairs", _mean(every), "higher", detail="mean over all pairs")
    _metric(
        ev,
        "contingency_similarity",
        _mean(contingency),
        "higher",
        detail="1 - TVD of joint frequencies, mean over pairs with a category (numbers in 10 bins)",
    )
    _metric(
        ev,
        "association_drift_max",
        _max(drift),
        "lower",
        detail="largest |real - synthetic| of Pearson / Cramér's V / correlation ratio",
    )
    _metric(ev, "association_drift_mean", _mean(drift), "lower")
    _spearman(tables, ev)
    ev.figures["pairs"] = {
        "columns": [str(n) for n in names],
        "trends": trends.tolist(),
        "real": assoc_real.tolist(),
        "synthetic": assoc_fake.tolist(),
    }


def _mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else None


def _max(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.max()) if len(finite) else None


def _pair_trend(tables: Tables, a: Any, b: Any, ca: Any, cb: Any) -> tuple[float, bool]:
    """SDMetrics' pair score and whether the pair is related in the real data."""
    if a in tables.numeric and b in tables.numeric:
        rr, rf = _pearson(tables, a, b)
        if not (np.isfinite(rr) and np.isfinite(rf)):
            return float("nan"), False
        return 1 - abs(rr - rf) / 2, abs(rr) > STRONG_CORRELATION
    related = _cramers_v(ca[0], cb[0], ca[2], cb[2]) > STRONG_ASSOCIATION
    return _contingency_similarity(ca, cb), related


def _pearson(tables: Tables, a: Any, b: Any) -> tuple[float, float]:
    out = []
    for frame in (tables.train, tables.synthetic):
        x, y = tables.numbers(frame, a), tables.numbers(frame, b)
        ok = ~(np.isnan(x) | np.isnan(y))
        out.append(_corr(x[ok], y[ok]))
    return out[0], out[1]


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def _contingency_similarity(
    ca: tuple[np.ndarray, np.ndarray, int], cb: tuple[np.ndarray, np.ndarray, int]
) -> float:
    size = ca[2] * cb[2]
    real = np.bincount(ca[0] * cb[2] + cb[0], minlength=size) / len(ca[0])
    fake = np.bincount(ca[1] * cb[2] + cb[1], minlength=size) / len(ca[1])
    return 1.0 - 0.5 * float(np.abs(real - fake).sum())


def _association(tables: Tables, a: Any, b: Any, ca: Any, cb: Any) -> tuple[float, float]:
    """Pearson for two numbers, Cramér's V for two categories, correlation ratio when mixed."""
    if a in tables.numeric and b in tables.numeric:
        return _pearson(tables, a, b)
    if a in tables.categorical and b in tables.categorical:
        return _cramers_v(ca[0], cb[0], ca[2], cb[2]), _cramers_v(ca[1], cb[1], ca[2], cb[2])
    num, cat = (a, cb) if a in tables.numeric else (b, ca)
    return tuple(  # type: ignore[return-value]
        _correlation_ratio(tables.numbers(frame, num), codes, cat[2])
        for frame, codes in ((tables.train, cat[0]), (tables.synthetic, cat[1]))
    )


def _cramers_v(x: np.ndarray, y: np.ndarray, nx: int, ny: int) -> float:
    table = np.bincount(x * ny + y, minlength=nx * ny).reshape(nx, ny).astype(float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    n = table.sum()
    if n == 0 or min(table.shape) < 2:
        return 0.0
    expected = np.outer(table.sum(1), table.sum(0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def _correlation_ratio(values: np.ndarray, codes: np.ndarray, n_codes: int) -> float:
    ok = ~np.isnan(values)
    values, codes = values[ok], codes[ok]
    if len(values) < 2 or values.var() == 0:
        return 0.0
    counts = np.bincount(codes, minlength=n_codes)
    sums = np.bincount(codes, weights=values, minlength=n_codes)
    present = counts > 0
    means = sums[present] / counts[present]
    between = float((counts[present] * (means - values.mean()) ** 2).sum())
    return float(np.sqrt(between / (values.var() * len(values))))


def _spearman(tables: Tables, ev: Evaluation) -> None:
    if len(tables.numeric) < 2:
        return
    matrices = []
    for frame in (tables.train, tables.synthetic):
        numbers = pd.DataFrame({str(n): tables.numbers(frame, n) for n in tables.numeric})
        matrices.append(numbers.rank().corr().to_numpy())
    upper = np.triu_indices(len(tables.numeric), 1)
    drift = np.abs(matrices[0] - matrices[1])[upper]
    drift = drift[np.isfinite(drift)]
    _metric(
        ev,
        "spearman_drift_max",
        float(drift.max()) if len(drift) else None,
        "lower",
        detail="largest |real - synthetic| Spearman correlation over number pairs",
    )


def detection(tables: Tables, ev: Evaluation, rng: np.random.Generator) -> None:
    """Classifier two-sample test: ROC-AUC of telling real from synthetic (0.5 is ideal)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    n = min(len(tables.train), len(tables.synthetic), MAX_DETECTION_ROWS)
    real = tables.train.iloc[rng.choice(len(tables.train), n, replace=False)]
    fake = tables.synthetic.iloc[rng.choice(len(tables.synthetic), n, replace=False)]
    features = Features(tables, tables.columns)
    x = np.vstack([features.matrix(real), features.matrix(fake)])
    y = np.r_[np.zeros(n), np.ones(n)]
    if n < 10 or x.shape[1] == 0:
        _metric(ev, "detection_auc", None, "target", target=0.5, detail="too few rows")
        return
    model = HistGradientBoostingClassifier(
        categorical_features=features.categorical_mask, random_state=int(rng.integers(2**31))
    )
    folds = StratifiedKFold(3, shuffle=True, random_state=int(rng.integers(2**31)))
    scores = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, scores))
    _metric(
        ev,
        "detection_auc",
        auc,
        "target",
        target=0.5,
        ci=bootstrap_auc(y, scores, rng),
        detail=f"gradient boosting, 3-fold, {n:,} real vs {n:,} synthetic rows",
    )


def bootstrap_auc(
    y: np.ndarray, scores: np.ndarray, rng: np.random.Generator, reps: int = 100
) -> tuple[float, float] | None:
    """95% percentile bootstrap interval of the ROC-AUC."""
    from sklearn.metrics import roc_auc_score

    values = []
    for _ in range(reps):
        idx = rng.integers(0, len(y), len(y))
        if 0 < y[idx].sum() < len(idx):
            values.append(roc_auc_score(y[idx], scores[idx]))
    if not values:
        return None
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))
