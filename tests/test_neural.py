"""The neural models: monitored training, early stopping, warnings, conditional sampling, CLI."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import umbra
from umbra.cli import run
from umbra.exceptions import ConditionError, InputError, TrainingWarning
from umbra.synthesizers._nn.layout import Layout
from umbra.synthesizers._nn.training import fidelity, missing_categories
from umbra.transforms.base import Block

NEURAL = ["ctgan", "tvae"]


def quiet_fit(name: str, df: pd.DataFrame, **params: object) -> umbra.Synthesizer:
    """Fit without the privacy warnings about learned bounds (tested elsewhere)."""
    meta = umbra.Metadata.detect(df, warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", umbra.PrivacyLeakWarning)
        warnings.simplefilter("ignore", TrainingWarning)
        return umbra.create(name, **{"random_state": 0, **params}).fit(df, metadata=meta)


@pytest.fixture(scope="module", params=NEURAL)
def trained(request: pytest.FixtureRequest, demo: pd.DataFrame) -> umbra.Synthesizer:
    return quiet_fit(request.param, demo, epochs=4, batch_size=100, early_stopping=None)


def test_loss_history_records_every_epoch(trained: umbra.Synthesizer) -> None:
    history = trained.loss_history_  # type: ignore[attr-defined]
    assert isinstance(history, pd.DataFrame)
    assert history["epoch"].tolist() == [1.0, 2.0, 3.0, 4.0]
    losses = [c for c in history.columns if c.endswith("loss")]
    assert losses and np.isfinite(history[losses].to_numpy()).all()
    assert history["seconds"].is_monotonic_increasing


def test_early_stopping_ends_training_and_keeps_the_best(demo: pd.DataFrame) -> None:
    for stopping in ("fidelity", "loss"):
        synth = quiet_fit(
            "tvae", demo, epochs=200, batch_size=64, early_stopping=stopping, patience=2
        )
        history = synth.loss_history_  # type: ignore[attr-defined]
        assert len(history) < 200
        assert 1 <= synth.best_epoch_ <= len(history) - 2  # type: ignore[attr-defined]
        if stopping == "fidelity":
            best = history.loc[history["epoch"] == synth.best_epoch_, "fidelity"]  # type: ignore[attr-defined]
            assert float(best.iloc[0]) == pytest.approx(history["fidelity"].max())


def test_divergence_warns_and_keeps_finite_weights(demo: pd.DataFrame) -> None:
    meta = umbra.Metadata.detect(demo, warn=False)
    synth = umbra.create("tvae", epochs=30, learning_rate=1e12, early_stopping=None, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synth.fit(demo, metadata=meta)
    assert any("diverged" in str(w.message) for w in caught if w.category is TrainingWarning)
    fake = synth.sample(100)
    assert fake["age"].notna().all()


def test_missing_category_warning_names_column_and_value(trained: umbra.Synthesizer) -> None:
    blocks = trained.transformer_.blocks
    block = next(i for i, b in enumerate(blocks) if b.name.endswith(".code"))
    trained._missing = [(block, 0)]  # type: ignore[attr-defined]
    column = trained.metadata_.names[int(blocks[block].name[1:].split(".")[0])]
    with pytest.warns(TrainingWarning, match=f"'{column}' = "):
        trained._after_fit()


def test_missing_categories_and_fidelity_on_codes() -> None:
    layout = Layout([Block("c0.code", "discrete", 3), Block("c1.value", "continuous", 1)])
    rng = np.random.default_rng(0)
    real = np.column_stack([rng.integers(0, 3, 900), rng.uniform(-1, 1, 900)])
    fake = real.copy()
    fake[:, 0] = np.where(fake[:, 0] == 2, 0, fake[:, 0])
    assert missing_categories(real, fake, layout) == [(0, 2)]
    assert fidelity(real, real, layout) == pytest.approx(1.0)
    assert fidelity(real, fake, layout) < fidelity(real, real, layout)


def test_conditions_fix_categories_and_ranges(trained: umbra.Synthesizer) -> None:
    fake = trained.sample(40, conditions={"horTh": "yes", "age": (40, 60)})
    assert len(fake) == 40
    assert (fake["horTh"] == "yes").all()
    assert fake["age"].between(40, 60).all()
    numeric = trained.sample(10, conditions={"tgrade": "III"})
    assert (numeric["tgrade"] == "III").all()


def test_bad_conditions_name_column_and_value(trained: umbra.Synthesizer) -> None:
    with pytest.raises(ConditionError, match="no such column"):
        trained.sample(5, conditions={"nope": 1})
    with pytest.raises(ConditionError, match=r"horTh='maybe'.*never saw"):
        trained.sample(5, conditions={"horTh": "maybe"})
    with pytest.raises(ConditionError, match="expected a number"):
        trained.sample(5, conditions={"age": "old"})
    with pytest.raises(ConditionError, match=r"age=500.0..600.0.*outside"):
        trained.sample(5, conditions={"age": (500, 600)})
    with pytest.raises(ConditionError, match="mapping"):
        trained.sample(5, conditions=["age"])  # type: ignore[arg-type]


def test_bad_hyperparameters_are_named(demo: pd.DataFrame) -> None:
    for name, params, match in (
        ("ctgan", {"epochs": 0}, "epochs"),
        ("ctgan", {"pac": -1}, "pac"),
        ("ctgan", {"moment_matching": -1.0}, "moment_matching"),
        ("tvae", {"early_stopping": "soon"}, "early_stopping"),
        ("tvae", {"learning_rate": "fast"}, "learning_rate"),
        ("ctgan", {"rare_threshold": -1}, "rare_threshold"),
        ("tvae", {"rare_threshold": 2.5}, "rare_threshold"),
    ):
        with pytest.raises(InputError, match=match):
            quiet_fit(name, demo, **params)


def test_ctgan_records_its_moment_gap_and_can_switch_it_off(demo: pd.DataFrame) -> None:
    on = quiet_fit("ctgan", demo, epochs=3, batch_size=100, early_stopping=None)
    gaps = on.loss_history_["moment_gap"]  # type: ignore[attr-defined]
    assert (gaps > 0).all() and gaps.iloc[-1] < gaps.iloc[0]
    off = quiet_fit("ctgan", demo, epochs=1, batch_size=100, moment_matching=0)
    assert (off.loss_history_["moment_gap"] == 0).all()  # type: ignore[attr-defined]


def test_tiny_table_trains_with_a_clamped_batch() -> None:
    df = pd.DataFrame({"x": np.arange(13.0), "c": [*"ab" * 6, "a"]})
    synth = quiet_fit("ctgan", df, epochs=2)
    assert len(synth.loss_history_) == 2  # type: ignore[attr-defined]
    assert synth.sample(7).shape == (7, 2)


def test_progress_bar_shows_losses(demo: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    quiet_fit("tvae", demo, epochs=2, verbose=True, early_stopping=None)
    err = capsys.readouterr().err
    assert "Training tvae" in err and "loss" in err


def test_loss_curves_of_a_real_model_reach_the_report(
    trained: umbra.Synthesizer, demo: pd.DataFrame, tmp_path: Path
) -> None:
    fake = trained.sample(len(demo))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", umbra.PrivacyLeakWarning)
        ev = umbra.evaluate(demo, fake, trained.metadata_, model=trained)
    assert len(ev.info["loss_history"]["epoch"]) == 4
    html = ev.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == html
    assert "no training loss curve" not in html.split('id="training"')[1]


def test_cli_samples_with_conditions(trained: umbra.Synthesizer, tmp_path: Path) -> None:
    model = trained.save(tmp_path / "m.umbra")
    out = tmp_path / "out.csv"
    code = run(
        [
            "sample",
            str(model),
            "--rows",
            "25",
            "-o",
            str(out),
            "--seed",
            "1",
            "--condition",
            "horTh=no",
            "--condition",
            "age=30..50",
        ]
    )
    assert code == 0
    fake = pd.read_csv(out)
    assert len(fake) == 25 and (fake["horTh"] == "no").all() and fake["age"].between(30, 50).all()
    bad = run(
        ["sample", str(model), "--rows", "5", "-o", str(tmp_path / "b.csv"), "--condition", "horTh"]
    )
    assert bad == 2 and not (tmp_path / "b.csv").exists()


@pytest.mark.parametrize("name", NEURAL)
def test_rare_category_on_real_data(name: str, adult: pd.DataFrame) -> None:
    """A category seen in 0.05% of Adult's rows comes back on request, exactly n times."""
    rare = "Outlying-US(Guam-USVI-etc)"
    assert (adult["native_country"] == rare).sum() < 20
    synth = quiet_fit(
        name,
        adult.head(8000).pipe(lambda d: pd.concat([d, adult[adult["native_country"] == rare]])),
        epochs=3,
    )
    fake = synth.sample(50, conditions={"native_country": rare})
    assert len(fake) == 50 and (fake["native_country"] == rare).all()


@pytest.mark.parametrize("name", NEURAL)
def test_rare_codes_share_one_token_decoded_uniformly(name: str) -> None:
    """Codes below rare_threshold cost one unit and come back in equal shares, not as learned."""
    rng = np.random.default_rng(0)
    common = rng.choice(["a", "b"], 1000)
    rare = np.repeat([f"r{i}" for i in range(20)], [9] + [1] * 19)  # r0 most frequent
    df = pd.DataFrame({"c": np.concatenate([common, rare]), "x": rng.normal(size=1028)})
    synth = quiet_fit(name, df, epochs=2, early_stopping=None)
    assert synth.layout_.spans[0].width == 3  # type: ignore[attr-defined]  # a, b, rare
    fake = synth.sample(20_000)
    counts = fake["c"][fake["c"].str.startswith("r")].value_counts()
    assert set(counts.index) <= set(rare)
    assert counts.max() < 3 * counts.min()  # r0 (9 real rows) is no more frequent than r19
    open_ = quiet_fit(name, df, epochs=2, early_stopping=None, rare_threshold=0)
    assert open_.layout_.spans[0].width == 22  # type: ignore[attr-defined]


def test_condition_on_a_rare_code_gives_exactly_that_code(trained: umbra.Synthesizer) -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"c": [*rng.choice(["a", "b"], 600), "z1", "z2", "z3"]})
    df["x"] = rng.normal(size=len(df))
    synth = quiet_fit(trained.name, df, epochs=2, early_stopping=None)
    fake = synth.sample(30, conditions={"c": "z2"})
    assert len(fake) == 30 and (fake["c"] == "z2").all()
