"""DP-SGD: noise calibrated within the target, the spend recorded, empty batches counted, and an
empirical audit that the default model's guarantee holds (and fails without DP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import umbra
from umbra.exceptions import InputError
from umbra.privacy.audit import canary_audit
from umbra.privacy.ledger import Ledger
from umbra.synthesizers._nn.dpsgd import accounted, noise_for


@settings(max_examples=15, deadline=None)
@given(st.floats(0.2, 10.0), st.floats(1e-9, 1e-4), st.floats(0.001, 0.5), st.integers(1, 3000))
def test_calibrated_noise_never_overshoots(
    epsilon: float, delta: float, rate: float, steps: int
) -> None:
    assert accounted(noise_for(epsilon, delta, rate, steps), rate, steps, delta) <= epsilon


@settings(max_examples=15, deadline=None)
@given(st.floats(0.5, 10.0), st.floats(0.05, 0.5), st.floats(0.001, 0.5), st.integers(1, 3000))
def test_steps_composed_with_a_release_stay_within_the_target(
    epsilon: float, reserve: float, rate: float, steps: int
) -> None:
    delta = 1e-6
    released = [(noise_for(reserve * epsilon, delta, 1.0, 1), 1.0, 1)]
    noise = noise_for(epsilon, delta, rate, steps, released)
    assert accounted(noise, rate, steps, delta, released) <= epsilon
    assert accounted(noise, rate, steps, delta) < epsilon  # the release costs something
    assert accounted(noise * 0.98, rate, steps, delta, released) > epsilon  # and no more noise


def small(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, umbra.Metadata]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.choice(["x", "y", "z"], n), "b": rng.integers(0, 10, n)})
    meta = umbra.Metadata.detect(df, warn=False)
    meta.update("a", categories=["x", "y", "z", "canary"]).update("b", bounds=(0, 9))
    return df, meta


def test_private_ar_stays_within_its_budget_and_books_it(tmp_path: Path) -> None:
    df, meta = small()
    book = Ledger(tmp_path / "ledger.jsonl")
    model = umbra.create("ar", epsilon=1.0, delta=1e-5, epochs=2, batch_size=60, random_state=0)
    model.fit(df, metadata=meta, ledger=book)
    spent = model.privacy_spent_  # type: ignore[attr-defined]
    assert spent["sgd_epsilon"] <= 1.0 and spent["epsilon"] == 1.0
    assert spent["mechanism"].startswith("DP-SGD") and spent["learned_under_dp"] == []
    assert "loss" not in model.loss_history_.columns  # type: ignore[attr-defined]
    assert book.total(df).spends == 1 and book.total(df).epsilon == 1.0
    fake = model.sample(500)
    assert set(fake["a"]) <= {"x", "y", "z", "canary"} and fake["b"].between(0, 9).all()


def linked() -> tuple[pd.DataFrame, umbra.Metadata]:
    """3,000 rows where y follows x (x = a exactly when y = p), z independent; domain declared."""
    rng = np.random.default_rng(0)
    x = rng.choice(["a", "b", "c"], 3000)
    df = pd.DataFrame({"x": x, "y": np.where(x == "a", "p", "q"), "z": rng.uniform(0, 1, 3000)})
    meta = umbra.Metadata.detect(df, warn=False).update("x", categories=["a", "b", "c"])
    return df, meta.update("y", categories=["p", "q"]).update("z", bounds=(0, 1))


def test_private_tvae_keeps_a_dependence_within_its_budget_and_reloads(tmp_path: Path) -> None:
    df, meta = linked()
    model = umbra.create(
        "tvae", epsilon=8.0, delta=1e-6, epochs=20, batch_size=500, learning_rate=0.01,
        latent_dim=8, loss_factor=10.0, random_state=0,
    ).fit(df, metadata=meta, ledger=False)  # fmt: skip
    spent = model.privacy_spent_  # type: ignore[attr-defined]
    assert spent["sgd_epsilon"] <= 8.0 and spent["mechanism"].startswith("DP-SGD")
    history = model.loss_history_  # type: ignore[attr-defined]
    assert list(history.columns) == ["epoch", "epsilon", "seconds"]
    fake = model.sample(3000)
    assert ((fake["x"] == "a") == (fake["y"] == "p")).mean() > 0.75  # independence gives 0.56
    assert fake["z"].between(0, 1).all() and fake.dtypes.equals(df.dtypes)
    again = umbra.load(model.save(tmp_path / "vae.umbra"))
    assert again.sample(20, random_state=1).equals(model.sample(20, random_state=1))
    assert again.privacy_spent_ == spent  # type: ignore[attr-defined]
    assert (model.sample(30, conditions={"x": "b"})["x"] == "b").all()  # by rejection


def test_private_ctgan_learns_from_its_critic_and_released_moments(tmp_path: Path) -> None:
    df, meta = linked()
    model = umbra.create(
        "ctgan", epsilon=8.0, delta=1e-6, epochs=30, batch_size=500, learning_rate=0.002,
        random_state=0,
    ).fit(df, metadata=meta, ledger=False)  # fmt: skip
    spent = model.privacy_spent_  # type: ignore[attr-defined]
    assert spent["sgd_epsilon"] <= 8.0 and len(spent["released_noise_multipliers"]) == 1
    fake = model.sample(3000)
    assert ((fake["x"] == "a") == (fake["y"] == "p")).mean() > 0.8  # independence gives 0.56
    assert fake["x"].value_counts(normalize=True).min() > 0.2  # each is a third in the data
    assert fake["z"].between(0, 1).all() and fake.dtypes.equals(df.dtypes)
    again = umbra.load(model.save(tmp_path / "gan.umbra"))
    assert again.sample(20, random_state=1).equals(model.sample(20, random_state=1))
    assert again.privacy_spent_ == spent  # type: ignore[attr-defined]


def test_empty_poisson_batches_are_counted_and_noise_can_be_secure() -> None:
    df, meta = small(120)
    model = umbra.create(
        "ar", epsilon=2.0, delta=1e-5, epochs=1, batch_size=1, secure_noise=True, random_state=0
    ).fit(df, metadata=meta, ledger=False)
    spent = model.privacy_spent_  # type: ignore[attr-defined]
    assert spent["steps"] == 120 and 20 < spent["empty_steps"] < 70  # about e^-1 of the steps
    assert spent["secure_noise"] is True


def test_bad_private_settings_are_named_before_any_work() -> None:
    df, meta = small()
    for params, match in (
        ({"epsilon": 0}, "epsilon must be a number > 0"),
        ({"epsilon": 1.0, "delta": 0.01}, "delta"),
        ({"epsilon": 1.0, "max_grad_norm": 0}, "max_grad_norm"),
        ({"epsilon": 1.0, "preprocessing_share": 1.5}, "preprocessing_share"),
    ):
        for name in ("ar", "tvae", "ctgan"):
            with pytest.raises(InputError, match=match):
                umbra.create(name, **params).fit(df, metadata=meta, ledger=False)


@pytest.mark.slow
def test_canary_audit_bounds_private_ar_and_catches_it_without_dp() -> None:
    df, meta = small()
    canary = pd.Series({"a": "canary", "b": 3})

    def fitter(epsilon: float | None) -> Any:
        def fit(table: pd.DataFrame, seed: int) -> umbra.Synthesizer:
            params = {"epsilon": epsilon, "delta": 1e-5} if epsilon else {"rare_threshold": 0}
            model = umbra.create("ar", epochs=3, batch_size=100, random_state=seed, **params)
            return model.fit(table, metadata=meta, ledger=False)

        return fit

    exposed = canary_audit(fitter(None), df, canary, "a", trials=30)
    assert exposed.epsilon_lower > 1.2 and exposed.false_negative_rate == 0
    private = canary_audit(fitter(1.0), df, canary, "a", trials=30, delta=1e-5)
    assert private.epsilon_lower <= 1.0


def test_cli_epsilon_without_a_model_fits_aim(tmp_path: Path) -> None:
    from umbra.cli import run

    df, meta = small()
    data, meta_path, model = tmp_path / "t.csv", tmp_path / "m.json", tmp_path / "m.umbra"
    df.to_csv(data, index=False)
    meta.save(meta_path)
    args = ["fit", str(data), "-o", str(model), "--metadata", str(meta_path), "--epsilon", "1"]
    assert run([*args, "--delta", "1e-5", "--ledger", str(tmp_path / "l.jsonl")]) == 0
    assert umbra.load(model).name == "aim"
