"""Utility: train on synthetic, test on the real holdout, against train on real.

A categorical target is scored by ROC-AUC and F1 (the positive class is the rarer one), a
numerical one by R^2; each with a linear model and gradient boosting, and the ratio of
train-on-synthetic to train-on-real.

Example:
    >>> import numpy as np, pandas as pd
    >>> from umbra.evaluation.prepare import prepare
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> df = pd.DataFrame({"x": x, "y": np.where(x > 0, "yes", "no")})
    >>> ev = Evaluation()
    >>> utility(prepare(df, df.copy(), holdout=df.copy()), ev, "y", rng)
    >>> ev.get("tstr_trtr_ratio_roc_auc_boosting").value
    1.0
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from umbra.evaluation.fidelity import bootstrap_auc
from umbra.evaluation.prepare import DistanceSpace, Features, Tables, labels
from umbra.evaluation.result import Evaluation, Metric
from umbra.exceptions import InputError


def check_target(tables: Tables, target: Any) -> None:
    """Raise :class:`InputError` unless ``target`` can be learned and scored."""
    if target not in tables.meta.names:
        raise InputError(
            f"target {target!r} is not a column of the table; choose one of {tables.meta.names}."
        )
    if target not in tables.columns:
        raise InputError(f"target {target!r} is an identifier or personal data; choose another.")
    if target in tables.categorical and tables.train[target].nunique() < 2:
        raise InputError(
            f"target {target!r} has a single class in the real table; utility needs at least two."
        )


def utility(tables: Tables, ev: Evaluation, target: Any, rng: np.random.Generator) -> None:
    """TSTR and TRTR scores, their ratios, and the table the report shows."""
    check_target(tables, target)
    assert tables.holdout is not None
    features = [c for c in tables.columns if c != target]
    classify = target in tables.categorical
    rows = []
    for model in ("linear", "boosting"):
        scores = {}
        for source, frame in (("trtr", tables.train), ("tstr", tables.synthetic)):
            scores[source] = _fit_score(tables, frame, features, target, model, classify, rng)
        for metric in scores["trtr"]:
            real, fake = scores["trtr"][metric], scores["tstr"][metric]
            ratio = fake[0] / real[0] if real[0] else None
            ev.add(Metric("utility", f"tstr_{metric}_{model}", fake[0], "higher", ci=fake[1]))
            ev.add(Metric("utility", f"trtr_{metric}_{model}", real[0], "higher", ci=real[1]))
            ev.add(
                Metric("utility", f"tstr_trtr_ratio_{metric}_{model}", ratio, "target", target=1.0)
            )
            rows.append(
                {
                    "model": model,
                    "metric": metric,
                    "real": real[0],
                    "synthetic": fake[0],
                    "ratio": ratio,
                }
            )
    ev.figures["utility"] = {
        "target": str(target),
        "task": "classification" if classify else "regression",
        "rows": rows,
    }


Score = tuple[float, tuple[float, float] | None]


def _fit_score(
    tables: Tables,
    frame: pd.DataFrame,
    features: list[Any],
    target: Any,
    model: str,
    classify: bool,
    rng: np.random.Generator,
) -> dict[str, Score]:
    from sklearn.metrics import r2_score

    assert tables.holdout is not None
    train = frame[frame[target].notna()]
    test = tables.holdout[tables.holdout[target].notna()]
    x_train, x_test, mask = _features(tables, features, model, train, test)
    estimator = _estimator(model, classify, mask, rng)
    if classify:
        y_train, y_test = labels(train[target]), labels(test[target])
        positive = labels(tables.train[target]).value_counts().index[-1]
        return _classification(estimator, x_train, y_train, x_test, y_test, positive, rng)
    y_train, y_test = tables.numbers(train, target), tables.numbers(test, target)
    ok, keep = ~np.isnan(y_train), ~np.isnan(y_test)
    estimator.fit(x_train[ok], y_train[ok])
    return {"r2": (float(r2_score(y_test[keep], estimator.predict(x_test[keep]))), None)}


def _features(
    tables: Tables, features: list[Any], model: str, train: pd.DataFrame, test: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Codes for gradient boosting; standardised numbers and one-hot categories for linear."""
    if model == "boosting":
        encoder = Features(tables, features)
        return encoder.matrix(train), encoder.matrix(test), encoder.categorical_mask
    numeric = [c for c in tables.numeric if c in features]
    categorical = [c for c in tables.categorical if c in features]
    space = DistanceSpace(
        Tables(tables.meta, tables.train, tables.synthetic, None, numeric, categorical)
    )
    return space.points(train).astype(float), space.points(test).astype(float), None


def _estimator(
    model: str, classify: bool, mask: np.ndarray | None, rng: np.random.Generator
) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    seed = int(rng.integers(2**31))
    if model == "linear":
        return LogisticRegression(max_iter=300) if classify else Ridge(alpha=1.0)
    cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    return cls(
        categorical_features=mask if mask is not None and mask.any() else None, random_state=seed
    )


def _classification(
    estimator: Any,
    x_train: np.ndarray,
    y_train: pd.Series,
    x_test: np.ndarray,
    y_test: pd.Series,
    positive: str,
    rng: np.random.Generator,
) -> dict[str, Score]:
    from sklearn.metrics import f1_score, roc_auc_score

    truth = (y_test == positive).to_numpy().astype(int)
    classes = sorted(set(y_train))
    if len(classes) < 2:
        proba = np.full(len(y_test), 1.0 if classes == [positive] else 0.0)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(x_train, y_train.to_numpy())
        probabilities = estimator.predict_proba(x_test)
        known = list(estimator.classes_)
        proba = probabilities[:, known.index(positive)] if positive in known else 0 * truth
    auc = float(roc_auc_score(truth, proba)) if 0 < truth.sum() < len(truth) else float("nan")
    f1 = float(f1_score(truth, (proba >= 0.5).astype(int), zero_division=0))
    return {"roc_auc": (auc, bootstrap_auc(truth, proba, rng)), "f1": (f1, None)}
