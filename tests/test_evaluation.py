"""The audit: checks that bite, scores that agree with SDMetrics, and bad input."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import umbra
from umbra.evaluation.gate import load_thresholds
from umbra.exceptions import InputError
from umbra.release import split_holdout


@pytest.fixture(scope="module")
def split(demo: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return split_holdout(demo, 0.3, random_state=0)


@pytest.fixture(scope="module")
def copula_fake(split: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    return umbra.create("copula", random_state=0).fit(split[0]).sample(len(split[0]))


def independent_columns(train: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A 'synthesizer' that shuffles each column on its own: right marginals, no dependence."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.permutation(train[c].to_numpy()) for c in train.columns})


def test_copying_the_training_rows_fails_the_gate(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = split
    ev = umbra.evaluate(train, train.copy(), holdout=holdout)
    assert ev.verdict == "fail"
    failed = {c.metric for c in ev.gate if not c.passed}
    assert {"exact_copy_excess", "dcr_share", "membership_auc"} <= failed
    assert ev.get("exact_copy_share").value == 1.0
    assert ev.get("dcr_share").value > 0.65  # train is subsampled to the holdout size
    assert ev.get("membership_auc").value > 0.9


def test_independent_columns_lose_pairs_and_are_detected(
    split: tuple[pd.DataFrame, pd.DataFrame], copula_fake: pd.DataFrame
) -> None:
    train, holdout = split
    shuffled = umbra.evaluate(train, independent_columns(train), holdout=holdout)
    good = umbra.evaluate(train, copula_fake, holdout=holdout)
    assert shuffled.get("column_shapes").value == pytest.approx(1.0)
    assert shuffled.get("pair_trends").value < good.get("pair_trends").value - 0.05
    assert shuffled.get("association_drift_max").value > 0.3
    assert shuffled.get("detection_auc").value > good.get("detection_auc").value
    assert good.verdict == "pass"


def test_utility_against_train_on_real(
    split: tuple[pd.DataFrame, pd.DataFrame], copula_fake: pd.DataFrame
) -> None:
    train, holdout = split
    ev = umbra.evaluate(train, copula_fake, holdout=holdout, target="menostat")
    real = ev.get("trtr_roc_auc_boosting").value
    assert real > 0.8
    assert ev.get("tstr_trtr_ratio_roc_auc_boosting").value == pytest.approx(
        ev.get("tstr_roc_auc_boosting").value / real
    )
    lo, hi = ev.get("tstr_roc_auc_linear").ci
    assert lo <= ev.get("tstr_roc_auc_linear").value <= hi
    regression = umbra.evaluate(train, copula_fake, holdout=holdout, target="age")
    assert regression.get("trtr_r2_boosting").value > 0.3


def test_attribute_inference_and_singling_out_see_copies(
    split: tuple[pd.DataFrame, pd.DataFrame], copula_fake: pd.DataFrame
) -> None:
    train, holdout = split
    quasi = ["age", "menostat", "tgrade", "tsize", "pnodes"]
    leaky = umbra.evaluate(train, train.copy(), holdout=holdout, sensitive=["horTh"],
                           quasi_identifiers=quasi)  # fmt: skip
    fine = umbra.evaluate(train, copula_fake, holdout=holdout, sensitive=["horTh"],
                          quasi_identifiers=quasi)  # fmt: skip
    leak = leaky.get("attribute_inference_excess", column="horTh").value
    assert leak > fine.get("attribute_inference_excess", column="horTh").value
    assert leaky.get("singling_out_excess").value > 0.1 > fine.get("singling_out_excess").value
    assert any(c.metric == "attribute_inference_excess[horTh]" for c in leaky.gate)


@pytest.mark.parametrize("frame", ["demo", "adult"])
def test_scores_agree_with_sdmetrics(frame: str, request: pytest.FixtureRequest) -> None:
    real = request.getfixturevalue(frame)
    fake = umbra.create("copula", random_state=1).fit(real).sample(len(real))
    meta = umbra.Metadata.detect(real, warn=False)
    ev = umbra.evaluate(real, fake, meta)
    kinds = {c.name: "numerical" if c.kind == "numerical" else "categorical" for c in meta}
    with warnings.catch_warnings():  # the judge's single-table report, deprecated upstream
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        report.generate(real, fake, {"columns": {c: {"sdtype": k} for c, k in kinds.items()}},
                        verbose=False)  # fmt: skip
        properties = report.get_properties()
    theirs = dict(zip(properties["Property"], properties["Score"], strict=True))
    assert ev.get("column_shapes").value == pytest.approx(theirs["Column Shapes"], abs=0.02)
    assert ev.get("pair_trends").value == pytest.approx(theirs["Column Pair Trends"], abs=0.02)


def test_holdout_with_other_columns_or_types(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = split
    with pytest.raises(InputError, match=r"holdout table does not have.*missing \['age'\]"):
        umbra.evaluate(train, train, holdout=holdout.drop(columns="age"))
    bad = holdout.assign(age=holdout["age"].astype(str).where(holdout.index > 0, "old"))
    with pytest.raises(InputError, match=r"column 'age': the holdout table holds 1 value.*'old'"):
        umbra.evaluate(train, train, holdout=bad)


def test_out_of_domain_and_missing_values_are_scored(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = split
    fake = train.copy()
    fake.loc[:99, "tgrade"] = "IV"
    fake.loc[:49, "tsize"] = np.nan
    ev = umbra.evaluate(train, fake, holdout=holdout)
    assert ev.get("unseen_category_share", column="tgrade").value == pytest.approx(100 / len(fake))
    assert ev.get("null_share_difference", column="tsize").value == pytest.approx(50 / len(fake))


def test_all_nan_column_and_odd_names() -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x (cm)": rng.normal(size=200), 0: rng.choice(["a", "b"], 200),
                         "ünï": np.nan})  # fmt: skip
    fake = pd.DataFrame({"x (cm)": rng.normal(size=200), 0: rng.choice(["a", "b"], 200),
                         "ünï": np.nan})  # fmt: skip
    ev = umbra.evaluate(real, fake, holdout=real.iloc[:50])
    assert ev.get("shape", column="ünï").value == 1.0
    assert ev.get("shape", column="0").value > 0.8
    json.loads(ev.to_json())


def test_bad_targets(split: tuple[pd.DataFrame, pd.DataFrame], copula_fake: pd.DataFrame) -> None:
    train, holdout = split
    with pytest.raises(InputError, match="target 'outcome' is not a column"):
        umbra.evaluate(train, copula_fake, holdout=holdout, target="outcome")
    one = train.assign(menostat="Post")
    with pytest.raises(InputError, match="single class"):
        umbra.evaluate(one, copula_fake.assign(menostat="Post"), holdout=holdout, target="menostat")
    with pytest.raises(InputError, match="sensitive column"):
        umbra.evaluate(train, copula_fake, holdout=holdout, sensitive=["nope"])


def test_without_holdout_the_gate_checks_copies(demo: pd.DataFrame) -> None:
    ev = umbra.evaluate(demo, demo.copy())
    assert ev.gate[0].metric == "exact_copy_share"
    assert ev.verdict == "fail" and "no holdout" in ev.info["note"]


def test_gate_config_and_overrides(tmp_path: Path, split: tuple[pd.DataFrame, pd.DataFrame],
                                   copula_fake: pd.DataFrame) -> None:  # fmt: skip
    config = tmp_path / "gate.toml"
    config.write_text("[gate]\nmembership_auc = 0.0\n")
    train, holdout = split
    ev = umbra.evaluate(train, copula_fake, holdout=holdout, thresholds=load_thresholds(config))
    assert ev.verdict == "fail"
    assert [c.metric for c in ev.gate if not c.passed] == ["membership_auc"]
    config.write_text("[gate]\nmembrane = 1\n")
    with pytest.raises(InputError, match="unknown gate threshold 'membrane'"):
        load_thresholds(config)


def test_json_and_html(split: tuple[pd.DataFrame, pd.DataFrame], copula_fake: pd.DataFrame,
                       tmp_path: Path) -> None:  # fmt: skip
    train, holdout = split
    ev = umbra.evaluate(train, copula_fake, holdout=holdout, target="cens")
    payload = json.loads(ev.to_json(tmp_path / "r.json"))
    assert payload["verdict"] == "pass"
    assert {m["name"] for m in payload["metrics"]["privacy"]} >= {"dcr_share", "membership_auc"}
    page = ev.to_html(tmp_path / "r.html")
    for section in ("verdict", "overview", "fidelity", "columns", "correlations", "utility",
                    "privacy", "distances", "training"):  # fmt: skip
        assert f'id="{section}"' in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "<script" not in page


@pytest.mark.shared_data
def test_good_model_on_adult_passes(adult: pd.DataFrame) -> None:
    train, holdout = split_holdout(adult, 0.2, random_state=0)
    fake = umbra.create("copula", random_state=0).fit(train).sample(len(train))
    ev = umbra.evaluate(train, fake, holdout=holdout, target="income")
    assert ev.verdict == "pass", [c.describe() for c in ev.gate]
    assert ev.get("column_shapes").value > 0.98
    assert 0.4 < ev.get("dcr_share").value < 0.6


class _TrainedModel:
    """Stands in for a neural model: the report draws whatever ``loss_history_`` holds."""

    name = "stand-in"
    loss_history_ = pd.DataFrame({"epoch": [0, 1, 2], "loss": [2.0, 1.2, 0.9]})

    def get_params(self) -> dict[str, object]:
        return {"epochs": 3}


def test_loss_curves_reach_the_report(split: tuple[pd.DataFrame, pd.DataFrame],
                                      copula_fake: pd.DataFrame) -> None:  # fmt: skip
    train, holdout = split
    ev = umbra.evaluate(train, copula_fake, holdout=holdout, model=_TrainedModel())
    assert ev.info["loss_history"]["loss"] == [2.0, 1.2, 0.9]
    training = ev.to_html().split('id="training"')[1]
    assert "<svg" in training and "no training loss curve" not in training
    plain = umbra.evaluate(train, copula_fake, holdout=holdout).to_html()
    assert "no training loss curve" in plain.split('id="training"')[1]
