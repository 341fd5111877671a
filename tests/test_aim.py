"""AIM: its privacy maths as properties, the exact junction-tree sampler, the model on real data."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import umbra
from umbra.exceptions import BudgetExceededError, InputError
from umbra.privacy import pgm
from umbra.privacy import selection as sel
from umbra.privacy.accounting import rho_for
from umbra.privacy.ledger import Ledger
from umbra.privacy.marginals import marginal

from .test_privacy import declared


@settings(max_examples=80, deadline=None)
@given(
    st.floats(1e-4, 50.0),
    st.integers(1, 60),
    st.lists(st.booleans(), min_size=1, max_size=300),
    st.integers(0, 3000),
)
def test_rounds_never_spend_more_than_the_budget(
    rho: float, columns: int, anneals: list[bool], stop_at: int
) -> None:
    sigma, epsilon = sel.initial_scales(rho, columns)
    used = columns * sel.measure_cost(sigma)  # the one-way marginals
    assert used <= rho
    for k, anneal in zip(range(5000), itertools.cycle(anneals), strict=False):
        sigma, epsilon, last = sel.next_round(rho, used, sigma, epsilon, stop=k >= stop_at)
        used += sel.round_cost(sigma, epsilon)
        assert used <= rho * (1 + 1e-12)
        if last:
            if k < stop_at:  # ended by the budget: the last round spends what is left
                assert used == pytest.approx(rho, rel=1e-6)
            return
        if anneal:
            sigma, epsilon = sigma / 2, epsilon * 2
    pytest.fail("the rounds never ended")


def test_candidates_and_weights_follow_the_workload() -> None:
    weights = sel.candidate_weights(sel.workload(4, degree=3))
    assert len(weights) == 4 + 6 + 4 and weights[(0, 1, 2)] == 3 + 2 + 2 + 2
    assert weights[(0,)] == 3  # in three of the four triples
    with pytest.raises(InputError, match="degree"):
        sel.workload(4, degree=0)


def test_exponential_choice_prefers_the_best_score() -> None:
    rng = np.random.default_rng(0)
    picks = [sel.exponential_choice(np.array([0.0, 50.0, 10.0]), 1.0, 1.0, rng) for _ in range(200)]
    assert np.mean(np.array(picks) == 1) > 0.99
    flat = [sel.exponential_choice(np.array([0.0, 1.0]), 1000.0, 0.01, rng) for _ in range(400)]
    assert 0.4 < np.mean(flat) < 0.6  # a tiny epsilon is close to a uniform choice


def test_sampler_keeps_the_conditionals_of_columns_that_share_parents() -> None:
    """Three columns in one clique and a fourth hanging off two of them: the records' conditional
    frequencies are the model's (mbi's generic generator distorts exactly these)."""
    rng = np.random.default_rng(4)
    n, sizes = 30_000, (2, 3, 2, 2)
    married = rng.random(n) < 0.5
    age = rng.integers(0, 3, n)
    income = rng.random(n) < np.where(married, 0.45, 0.06) + 0.05 * age
    sex = (rng.random(n) < np.where(married & income, 0.9, 0.4)).astype(int)
    codes = np.column_stack([married, age, income, sex]).astype(int)
    cliques = [(0,), (1,), (2,), (3,), (0, 1, 2), (0, 2, 3)]
    measurements = [(c, marginal(codes, c, sizes).ravel(), 1.0) for c in cliques]
    model = pgm.estimate(sizes, measurements, iterations=300)
    rows = pgm.sample(200_000, pgm.clique_tables(model, sizes), sizes, rng)
    for given_col, col in ((0, 2), (2, 3), (1, 2)):
        joint = pgm.project(model, tuple(sorted((given_col, col))))
        joint = joint if given_col < col else joint.T
        expected = joint / joint.sum(axis=1, keepdims=True)
        for value in range(sizes[given_col]):
            picked = rows[rows[:, given_col] == value, col]
            shares = np.bincount(picked, minlength=sizes[col]) / len(picked)
            assert shares == pytest.approx(expected[value], abs=0.01)
    true_rate = income[married].mean()
    assert rows[rows[:, 0] == 1, 2].mean() == pytest.approx(true_rate, abs=0.01)


def test_aim_keeps_dependencies_reports_its_spend_and_reloads(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.choice(["a", "b", "c"], 4000)
    df = pd.DataFrame(
        {
            "x": x,
            "y": np.where(x == "a", "p", "q"),
            "z": rng.uniform(0, 1, 4000),
            "k": rng.integers(0, 5, 4000),
        }
    )
    meta = declared(df).update("y", categories=["p", "q", "never"])  # a category with no rows
    synth = umbra.create("aim", epsilon=1.0, delta=1e-7, random_state=0, max_seconds=30)
    fake = synth.fit(df, metadata=meta, ledger=Ledger(tmp_path / "l.jsonl")).sample(4000)
    assert ((fake["x"] == "a") == (fake["y"] == "p")).mean() > 0.9
    assert set(fake["y"]) <= {"p", "q", "never"} and fake["z"].between(0, 1).all()
    assert fake.dtypes.equals(df.dtypes) and fake.isna().sum().sum() == 0
    spent = synth.privacy_spent_  # type: ignore[attr-defined]
    assert spent["rho"] == pytest.approx(rho_for(1.0, 1e-7)) and spent["rounds"] >= 1
    entries = Ledger(tmp_path / "l.jsonl").entries()
    assert [e["mechanism"] for e in entries] == ["aim"]
    path = synth.save(tmp_path / "aim.umbra")
    again = umbra.load(path)
    assert again.sample(50, random_state=3).equals(synth.sample(50, random_state=3))


def test_aim_refuses_bad_settings_and_budgets_before_any_work(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": ["a", "b"] * 50, "n": range(100)})
    meta = declared(df)
    for params, match in (
        ({"epsilon": 0}, "epsilon must be a number > 0"),
        ({"degree": 4}, "degree must be 2 or 3"),
        ({"max_seconds": -1}, "max_seconds"),
        ({"round_iterations": 0}, "round_iterations"),
        ({"max_rounds": 0}, "max_rounds"),
        ({"integer_values": 0}, "integer_values"),
    ):
        with pytest.raises(InputError, match=match):
            umbra.create("aim", **params).fit(df, metadata=meta, ledger=False)
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.set_cap(df, epsilon=0.5)
    with pytest.raises(BudgetExceededError):
        umbra.create("aim", epsilon=1.0, delta=1e-4).fit(df, metadata=meta, ledger=ledger)


@pytest.mark.slow
def test_aim_on_adult_keeps_income_given_marriage(adult: pd.DataFrame) -> None:
    columns = ["age", "marital_status", "relationship", "sex", "hours_per_week", "income"]
    data = adult[columns].dropna()
    synth = umbra.create("aim", epsilon=3.0, delta=1e-7, random_state=0, max_seconds=40)
    fake = synth.fit(data, metadata=declared(data), ledger=False).sample(len(data))
    for frame in (data, fake):
        assert frame["income"].isin(["<=50K", ">50K"]).all()
    married = "Married-civ-spouse"

    def rate(frame: pd.DataFrame) -> float:
        return float((frame.loc[frame["marital_status"] == married, "income"] == ">50K").mean())

    assert rate(fake) == pytest.approx(rate(data), abs=0.03)  # about 0.45 in the real table
    husbands = fake["relationship"] == "Husband"
    assert (fake.loc[husbands, "sex"] == "Male").mean() > 0.95


def test_max_rounds_caps_the_rounds_the_same_on_every_machine() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.choice(["a", "b"], 500), "y": rng.choice(["p", "q", "r"], 500),
                       "n": rng.integers(0, 20, 500)})  # fmt: skip
    params = {"epsilon": 1.0, "delta": 1e-6, "max_rounds": 2, "iterations": 50,
              "round_iterations": 10, "random_state": 0}  # fmt: skip
    fits = [
        umbra.create("aim", **params).fit(df, metadata=declared(df), ledger=False) for _ in range(2)
    ]
    assert [f.privacy_spent_["rounds"] for f in fits] == [2, 2]  # type: ignore[attr-defined]
    assert fits[0].sample(50).equals(fits[1].sample(50))
