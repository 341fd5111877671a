"""The autoregressive default model: quantile tokens, rare-value protection, any-subset
conditioning, quality on real data, bad hyperparameters."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import umbra
from umbra.evaluation.fidelity import column_metrics, pair_metrics
from umbra.evaluation.prepare import prepare
from umbra.evaluation.result import Evaluation
from umbra.exceptions import InputError, PrivacyLeakWarning
from umbra.metadata.spec import ColumnSpec
from umbra.synthesizers.ar import AutoRegressive
from umbra.transforms.numeric import MIN_TOKEN_ROWS, NumericalEncoder
from umbra.transforms.quantile import encode_tokens, fit_tokens


def fit_ar(df: pd.DataFrame, **params: object) -> AutoRegressive:
    meta = umbra.Metadata.detect(df, warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyLeakWarning)
        model = umbra.create("ar", **{"random_state": 0, **params}).fit(df, metadata=meta)
    assert isinstance(model, AutoRegressive)
    return model


def test_quantile_tokens_keep_spikes_tails_and_hide_single_values() -> None:
    rng = np.random.default_rng(0)
    values = np.r_[np.zeros(3000), rng.lognormal(8, 1.5, 7000).round(0)]
    points, edges = fit_tokens(
        values, (0.0, values.max()), integer=True, n_bins=32, min_rows=MIN_TOKEN_ROWS
    )
    assert 0.0 in points.tolist()
    counts = np.bincount(encode_tokens(values, points, edges), minlength=len(points) + 1)
    assert counts.min() >= MIN_TOKEN_ROWS  # no token stands for fewer rows than that
    spec = ColumnSpec("x", "numerical", "int64", integer=True, bounds=(0, values.max()))
    encoder = NumericalEncoder(spec, "c0", "quantile", 32).fit(pd.Series(values), rng)
    back = encoder.inverse(encoder.transform(pd.Series(values), rng), rng)
    assert back.dtype == np.int64 and (back == 0).mean() == pytest.approx(0.3, abs=0.002)
    span = values.max() - values.min()
    for q in (0.01, 0.5, 0.99):
        assert abs(np.quantile(back, q) - np.quantile(values, q)) < 0.03 * span
    assert not set(values[values > np.quantile(values, 0.999)]) & set(back[back > 0].tolist())


def test_rare_categories_share_one_token_and_protection_can_be_switched_off() -> None:
    rng = np.random.default_rng(1)
    n = 600
    df = pd.DataFrame({"c": rng.choice(["a", "b"], n), "x": rng.normal(size=n).round(3)})
    df.loc[:2, "c"] = ["rare1", "rare1", "rare2"]  # 2 rows and 1 row
    df.loc[:2, "x"] = 9.5
    protected = fit_ar(df, epochs=3)
    block = [b.name for b in protected.transformer_.blocks].index("c0.code")
    categories = protected.transformer_.encoders_[0].categories
    rare_codes = [categories.index("rare1"), categories.index("rare2")]
    assert sorted(protected.vocab_.rare[block].tolist()) == sorted(rare_codes)
    assert protected.vocab_.sizes[block] == 3  # a, b and the shared rare token
    fake = protected.sample(60, conditions={"c": "rare2"})
    assert (fake["c"] == "rare2").all() and len(fake) == 60
    open_model = fit_ar(df, epochs=3, rare_threshold=0)
    assert open_model.vocab_.rare[block].size == 0 and open_model.vocab_.sizes[block] == 4


def test_conditions_on_a_later_column_shape_the_earlier_ones(demo: pd.DataFrame) -> None:
    """Conditioning on the last column moves the first ones the way the real data does."""
    model = fit_ar(demo, epochs=60, flexible=0.5)
    # In GBSG2, "cens" (last column) = 1 goes with more positive nodes (an earlier column).
    fake = model.sample(3000, conditions={"cens": 1})
    other = model.sample(3000, conditions={"cens": 0})
    real_gap = demo.loc[demo.cens == 1, "pnodes"].mean() - demo.loc[demo.cens == 0, "pnodes"].mean()
    fake_gap = fake["pnodes"].mean() - other["pnodes"].mean()
    assert real_gap > 2 and fake_gap > 0.5 * real_gap
    assert (fake["cens"] == 1).all() and (other["cens"] == 0).all()


def test_bad_hyperparameters_are_named(demo: pd.DataFrame) -> None:
    for params, match in (
        ({"hidden": 0}, "hidden"),
        ({"rare_threshold": -1}, "rare_threshold"),
        ({"flexible": 1.5}, "flexible"),
        ({"dropout": "a"}, "dropout"),
        ({"early_stopping": "fidelity"}, "early_stopping"),
        ({"epochs": 0}, "epochs"),
        ({"n_bins": 0}, r"n_bins must be an integer >= 1, received 0 \(the default is 64\)"),
        ({"learning_rate": 0}, r"learning_rate must be a number in \(0, 1\]"),
    ):
        with pytest.raises(InputError, match=match):
            fit_ar(demo, **params)


def test_history_and_early_stopping(demo: pd.DataFrame) -> None:
    model = fit_ar(demo, epochs=300, patience=2)
    history = model.loss_history_
    assert len(history) < 300 and {"loss", "validation_loss"} <= set(history.columns)
    best = history.loc[history["epoch"] == model.best_epoch_, "validation_loss"].iloc[0]
    assert best == pytest.approx(history["validation_loss"].min(), rel=2e-4)  # the stop margin


@pytest.mark.shared_data
def test_quality_on_adult(adult: pd.DataFrame) -> None:
    """A short fit on 8,000 real rows already keeps the marginals and the pairs."""
    train, holdout = umbra.split_holdout(adult.head(10_000), 0.2, random_state=0)
    model = fit_ar(train, epochs=12)
    fake = model.sample(len(train))
    tables = prepare(train, fake, model.metadata_, holdout)
    ev = Evaluation()
    column_metrics(tables, ev)
    pair_metrics(tables, ev)
    assert ev.get("column_shapes").value > 0.97
    assert ev.get("pair_trends").value > 0.95
    rich = model.sample(2000, conditions={"income": ">50K"})
    share = (rich["relationship"] == "Husband").mean()
    real = (train.loc[train.income == ">50K", "relationship"] == "Husband").mean()
    assert abs(share - real) < 0.1


def test_a_table_of_identifiers_only_needs_no_training(tmp_path: Path) -> None:
    df = pd.DataFrame({"id": [f"P{i:04d}" for i in range(300)]})
    model = fit_ar(df, epochs=2)
    assert len(model.loss_history_) == 0
    fake = umbra.load(model.save(tmp_path / "ids.umbra")).sample(5)
    assert fake.shape == (5, 1) and fake["id"].str.len().eq(5).all()


def test_declared_bounds_cap_the_tails_without_stretching_them() -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"age": rng.integers(30, 71, 400), "c": rng.choice(["a", "b"], 400)})
    meta = umbra.Metadata.detect(df, warn=False).update("age", bounds=(0, 120))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyLeakWarning)
        fake = umbra.create("ar", random_state=0).fit(df, metadata=meta).sample(4000)
    outside = ~fake["age"].between(30, 70)
    assert outside.mean() < 0.01 and fake["age"].between(0, 120).all()


def test_whole_numbers_beyond_int64_stay_floats() -> None:
    df = pd.DataFrame({"big": [1e300, -1e300, 5e299, 1.0] * 50, "c": ["a", "b"] * 100})
    fake = fit_ar(df, epochs=2).sample(300)
    assert fake["big"].dtype == np.float64
    assert fake["big"].between(-1e300, 1e300).all() and (fake["big"] != -(2.0**63)).all()


def test_edited_model_file_is_refused_in_one_line(demo: pd.DataFrame, tmp_path: Path) -> None:
    import json
    import zipfile

    path = fit_ar(demo, epochs=2).save(tmp_path / "m.umbra")
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(parts["manifest.json"])
    manifest["params"]["hidden"] = 40
    parts["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(umbra.PersistenceError, match="do not fit its parameters") as caught:
        umbra.load(path)
    assert "\n" not in str(caught.value)


def test_conditions_that_can_never_match_fail_at_once(odd: pd.DataFrame) -> None:
    model = fit_ar(odd.assign(nothing=np.nan), epochs=2)
    assert model.metadata_["nothing"].kind == "numerical"
    for conditions, match in (
        ({"x y (z)": 40.5}, r"whole numbers only; use a range such as x y \(z\)=40..41"),
        ({"nothing": 1}, "always missing"),
        ({"nothing": (0, 5)}, "always missing"),
        ({"empty": 1}, "never saw that value"),
        ({"const": None}, "no missing values"),
        ({"const": float("nan")}, "no missing values"),
    ):
        with pytest.raises(umbra.ConditionError, match=match):
            model.sample(5, conditions=conditions)
    assert model.sample(4, conditions={"x y (z)": None})["x y (z)"].isna().all()
