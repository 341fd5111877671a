"""Privacy: copies, distances to the closest record, membership and attribute inference, and
singling out, each set against what the real holdout (rows the model never saw) gives.

Example:
    >>> import pandas as pd
    >>> from umbra.evaluation.prepare import prepare
    >>> real = pd.DataFrame({"x": range(40), "c": ["a", "b"] * 20})
    >>> ev = Evaluation()
    >>> exact_copies(prepare(real, real.copy(), holdout=real.copy()), ev)
    >>> ev.get("exact_copy_share").value
    1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from umbra.evaluation.fidelity import bootstrap_auc
from umbra.evaluation.prepare import DistanceSpace, Features, Tables, labels, nearest
from umbra.evaluation.result import Evaluation, Metric

MAX_QUERY_ROWS = 5_000
MAX_MEMBERS = 2_000
MAX_REFERENCE_ROWS = 20_000
MAX_QI_LEVELS = 120


def _metric(ev: Evaluation, name: str, value: float | None, direction: str, **kw: Any) -> None:
    ev.add(Metric("privacy", name, value, direction, **kw))


def row_keys(tables: Tables, frame: pd.DataFrame, columns: list[Any]) -> pd.Series:
    """One hash per row over ``columns`` (numbers rounded, missing values alike)."""
    parts = {}
    for name in columns:
        if name in tables.numeric:
            parts[str(name)] = np.round(tables.numbers(frame, name), 6)
        else:
            parts[str(name)] = labels(frame[name]).to_numpy()
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False)


def exact_copies(tables: Tables, ev: Evaluation) -> None:
    """Share of synthetic rows identical to a training row, and the holdout's own share."""
    train = set(row_keys(tables, tables.train, tables.columns).to_numpy())
    share = float(row_keys(tables, tables.synthetic, tables.columns).isin(train).mean())
    _metric(
        ev, "exact_copy_share", share, "lower", detail="synthetic rows identical to a training row"
    )
    if tables.holdout is None:
        return
    baseline = float(row_keys(tables, tables.holdout, tables.columns).isin(train).mean())
    _metric(
        ev,
        "exact_copy_share_holdout",
        baseline,
        "lower",
        detail="holdout rows identical to a training row: the natural rate",
    )
    _metric(
        ev,
        "exact_copy_excess",
        share - baseline,
        "lower",
        detail="synthetic copy share minus the holdout's",
    )


def _sample(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    return frame if len(frame) <= n else frame.iloc[rng.choice(len(frame), n, replace=False)]


def _references(
    tables: Tables, size: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and holdout references alike: ``size`` rows of each, or for a sequence table as
    many whole entities from each (as many as fit ``size`` rows on average). Rows sampled one
    by one would spread the training reference over more entities than the holdout's and put
    it closer to any synthetic row, fresh or copied.

    Example:
        >>> from umbra.metadata import Metadata
        >>> log = pd.DataFrame({"case": [1, 1, 2, 2, 3, 3, 4, 4], "x": range(8)})
        >>> meta = Metadata.detect(log, warn=False).set_sequence("case")
        >>> t = Tables(meta, log, log, log.iloc[:4], ["x"], [])
        >>> [r["case"].nunique() for r in _references(t, 4, np.random.default_rng(0))]
        [2, 2]
    """
    assert tables.holdout is not None
    key = tables.meta.sequence.key if tables.meta.sequence is not None else None
    frames = (tables.train, tables.holdout)
    if key is None or any(key not in f.columns for f in frames):
        return _sample(tables.train, size, rng), _sample(tables.holdout, size, rng)
    per_entity = max(len(f) / max(f[key].nunique(), 1) for f in frames)
    count = max(1, min(min(f[key].nunique() for f in frames), int(size / per_entity)))

    def entities(frame: pd.DataFrame) -> pd.DataFrame:
        ids = frame[key].unique()
        return frame[frame[key].isin(ids[rng.choice(len(ids), count, replace=False)])]

    return entities(tables.train), entities(tables.holdout)


def distances(tables: Tables, ev: Evaluation, rng: np.random.Generator) -> None:
    """Distance to closest record and nearest-neighbour distance ratio, train against holdout."""
    assert tables.holdout is not None
    space = DistanceSpace(tables)
    size = min(len(tables.train), len(tables.holdout), MAX_REFERENCE_ROWS)
    train_rows, holdout_rows = _references(tables, size, rng)
    train, holdout = space.points(train_rows), space.points(holdout_rows)
    query = space.points(_sample(tables.synthetic, MAX_QUERY_ROWS, rng))
    to_train = nearest(train, query, k=2)
    to_holdout = nearest(holdout, query, k=1)[:, 0]
    closer = (to_train[:, 0] < to_holdout).mean() + 0.5 * (to_train[:, 0] == to_holdout).mean()
    _metric(
        ev,
        "dcr_share",
        float(closer),
        "target",
        target=0.5,
        detail="share of synthetic rows closer to a training row than to a holdout row "
        "(train subsampled to the holdout's size; 0.5 is ideal)",
    )
    ratio = _nndr(to_train)
    base = _nndr(nearest(train, space.points(_sample(tables.holdout, MAX_QUERY_ROWS, rng)), k=2))
    _metric(
        ev, "nndr_median", ratio, "higher", detail="median nearest/second-nearest training distance"
    )
    _metric(ev, "nndr_median_holdout", base, "higher", detail="the same for holdout rows")
    _metric(ev, "dcr_median", float(np.median(to_train[:, 0])), "higher")
    _metric(
        ev,
        "dcr_median_holdout",
        float(np.median(to_holdout)),
        "higher",
        detail="median distance from synthetic rows to their closest holdout row",
    )
    ev.figures["distances"] = {
        "to_train": to_train[:, 0].tolist(),
        "to_holdout": to_holdout.tolist(),
    }


def _nndr(d: np.ndarray) -> float | None:
    if d.shape[1] < 2:
        return None
    ratio = np.divide(d[:, 0], d[:, 1], out=np.zeros(len(d)), where=d[:, 1] > 0)
    return float(np.median(ratio))


def membership(tables: Tables, ev: Evaluation, rng: np.random.Generator) -> None:
    """Distance attack: the closer a real row to the synthetic data, the likelier a member."""
    assert tables.holdout is not None
    space = DistanceSpace(tables)
    m = min(len(tables.train), len(tables.holdout), MAX_MEMBERS)
    members = space.points(_sample(tables.train, m, rng))
    others = space.points(_sample(tables.holdout, m, rng))
    reference = space.points(_sample(tables.synthetic, MAX_REFERENCE_ROWS, rng))
    score = -nearest(reference, np.vstack([members, others]))[:, 0]
    truth = np.r_[np.ones(m), np.zeros(m)]
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(truth, score))
    _metric(
        ev,
        "membership_auc",
        auc,
        "target",
        target=0.5,
        ci=bootstrap_auc(truth, score, rng),
        detail=f"ROC-AUC of telling {m:,} training rows from {m:,} holdout rows by their "
        "distance to the synthetic data (0.5: no better than chance)",
    )


def attribute_inference(
    tables: Tables, ev: Evaluation, sensitive: list[Any], rng: np.random.Generator
) -> None:
    """An attacker knowing the other columns predicts each sensitive one for training rows."""
    assert tables.holdout is not None
    members = _sample(tables.train, MAX_QUERY_ROWS, rng)
    for name in sensitive:
        known = [c for c in tables.columns if c != name]
        features = Features(tables, known)
        scores = [
            _attack(tables, features, source, members, name, rng)
            for source in (tables.synthetic, tables.holdout)
        ]
        _metric(
            ev,
            "attribute_inference",
            scores[0],
            "lower",
            column=str(name),
            detail="attacker trained on the synthetic data, scored on training rows "
            "(accuracy for categories, R^2 for numbers)",
        )
        _metric(
            ev,
            "attribute_inference_baseline",
            scores[1],
            "lower",
            column=str(name),
            detail="the same attacker trained on the holdout",
        )
        _metric(
            ev,
            "attribute_inference_excess",
            scores[0] - scores[1],
            "lower",
            column=str(name),
            detail="how much more the synthetic data tells about members than real non-members do",
        )


def _attack(
    tables: Tables,
    features: Features,
    source: pd.DataFrame,
    members: pd.DataFrame,
    name: Any,
    rng: np.random.Generator,
) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    mask = features.categorical_mask
    seed = int(rng.integers(2**31))
    x, x_test = features.matrix(source), features.matrix(members)
    if name in tables.categorical:
        y, truth = labels(source[name]).to_numpy(), labels(members[name]).to_numpy()
        if len(set(y)) < 2:
            return float((truth == y[0]).mean())
        model = HistGradientBoostingClassifier(categorical_features=mask, random_state=seed)
        return float((model.fit(x, y).predict(x_test) == truth).mean())
    y, truth = tables.numbers(source, name), tables.numbers(members, name)
    ok, keep = ~np.isnan(y), ~np.isnan(truth)
    model = HistGradientBoostingRegressor(categorical_features=mask, random_state=seed)
    predicted = model.fit(x[ok], y[ok]).predict(x_test[keep])
    residual = ((truth[keep] - predicted) ** 2).sum()
    total = ((truth[keep] - truth[keep].mean()) ** 2).sum() or 1.0
    return float(1 - residual / total)


def default_quasi_identifiers(tables: Tables) -> list[Any]:
    """Columns an attacker could know: categories, and numbers with few distinct values."""
    out = []
    for name in tables.columns:
        few = tables.meta[name].integer and tables.train[name].nunique() <= MAX_QI_LEVELS
        if name in tables.categorical or few:
            out.append(name)
    return out


def singling_out(tables: Tables, ev: Evaluation, quasi: list[Any]) -> None:
    """Synthetic rows that reproduce the quasi-identifiers of a training row unique on them."""
    if not quasi:
        return
    train = row_keys(tables, tables.train, quasi)
    counts = train.value_counts()
    unique = set(counts.index[counts == 1])
    share = float(row_keys(tables, tables.synthetic, quasi).isin(unique).mean())
    names = ", ".join(map(str, quasi))
    _metric(
        ev,
        "singling_out_share",
        share,
        "lower",
        detail=f"synthetic rows matching a training row unique on ({names})",
    )
    if tables.holdout is None:
        return
    base = float(row_keys(tables, tables.holdout, quasi).isin(unique).mean())
    _metric(ev, "singling_out_share_holdout", base, "lower", detail="the same for holdout rows")
    _metric(ev, "singling_out_excess", share - base, "lower")
