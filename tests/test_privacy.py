"""Differential privacy: accounting properties, the ledger, MST's guarantee and exact sampler."""

from __future__ import annotations

import json
import math
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import umbra
from umbra.exceptions import BudgetExceededError, InputError
from umbra.privacy.accounting import check_budget, delta_for, epsilon_for, gaussian_sigma, rho_for
from umbra.privacy.domain import private_bounds
from umbra.privacy.ledger import Ledger, fingerprint
from umbra.privacy.marginals import marginal, sample_tree, select_tree, tree_order

EPSILONS = st.floats(0.01, 20.0)
DELTAS = st.floats(1e-12, 1e-3)


@settings(max_examples=60, deadline=None)
@given(EPSILONS, DELTAS)
def test_calibrated_rho_never_overshoots_the_target(epsilon: float, delta: float) -> None:
    rho = rho_for(epsilon, delta)
    assert rho > 0
    assert delta_for(rho, epsilon) <= delta
    assert epsilon_for(rho, delta) <= epsilon * (1 + 1e-9)
    # the noise for a sensitivity-1 count at that rho is what the Gaussian mechanism needs
    assert gaussian_sigma(rho) == pytest.approx(1 / math.sqrt(2 * rho))


@settings(max_examples=40, deadline=None)
@given(EPSILONS, EPSILONS, DELTAS)
def test_composition_is_monotone(e1: float, e2: float, delta: float) -> None:
    low, high = sorted([e1, e2])
    assert rho_for(low, delta) <= rho_for(high, delta)
    rho = rho_for(e1, delta)
    assert epsilon_for(rho + rho_for(e2, delta), delta) >= epsilon_for(rho, delta)


@pytest.mark.parametrize(
    ("epsilon", "delta", "match"),
    [
        (0, 1e-6, "epsilon must be a number > 0"),
        (-1.0, 1e-6, "epsilon"),
        (float("inf"), 1e-6, "epsilon"),
        (float("nan"), 1e-6, "epsilon"),
        (True, 1e-6, "epsilon"),
        ("1", 1e-6, "epsilon"),
        (1.0, 0.0, "delta must be a number strictly between 0 and 1"),
        (1.0, 1.0, "delta"),
        (1.0, None, "delta"),
        (1.0, 0.01, r"not below 1/n = 0.001 .*1000 rows"),
    ],
)
def test_bad_budgets_are_named(epsilon: object, delta: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        check_budget(epsilon, delta, n_rows=1000)


def declared(df: pd.DataFrame) -> umbra.Metadata:
    """Metadata with the domain declared (as a public schema would give it)."""
    meta = umbra.Metadata.detect(df, warn=False)
    for spec in meta:
        if spec.kind == "numerical":
            meta.update(spec.name, bounds=(float(df[spec.name].min()), float(df[spec.name].max())))
        elif spec.kind == "categorical":
            meta.update(spec.name, categories=sorted(df[spec.name].dropna().unique().tolist()))
    return meta


def test_mst_refuses_bad_budgets_and_undeclared_domains_before_any_work(
    demo: pd.DataFrame,
) -> None:
    with pytest.raises(InputError, match="epsilon must be a number > 0"):
        umbra.create("mst", epsilon=0).fit(demo)
    with pytest.raises(InputError, match=r"delta=0.01 is not below 1/n"):
        umbra.create("mst", delta=0.01).fit(demo, metadata=declared(demo))
    dated = pd.DataFrame({"day": pd.date_range("2020-01-01", periods=50), "x": range(50)})
    with pytest.raises(InputError, match=r"'day' need declared bounds"):
        umbra.create("mst").fit(dated, metadata=umbra.Metadata.detect(dated, warn=False))
    with pytest.raises(InputError, match="preprocessing_share"):
        umbra.create("mst", preprocessing_share=1.5).fit(demo)


def test_mst_learns_an_undeclared_domain_under_dp_without_a_leak_warning(
    demo: pd.DataFrame,
) -> None:
    meta = umbra.Metadata.detect(demo, warn=False)
    # 686 rows: a small table needs a larger budget for useful ranges
    synth = umbra.create("mst", epsilon=5.0, delta=1e-7, preprocessing_share=0.3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", umbra.PrivacyLeakWarning)
        synth.fit(demo, metadata=meta)
    learned = synth.privacy_spent_["learned_under_dp"]  # type: ignore[attr-defined]
    assert "age" in learned and "horTh" in learned
    assert synth.metadata_["age"].bounds_source == "dp"
    low, high = synth.metadata_["age"].bounds
    assert low <= demo["age"].quantile(0.05) and high >= demo["age"].quantile(0.95)
    fake = synth.sample(500)
    assert fake["age"].between(low, high).all() and fake.dtypes.equals(demo.dtypes)
    spent = synth.privacy_spent_  # type: ignore[attr-defined]
    assert 0 < spent["preprocessing_rho"] < spent["rho"]
    assert spent["rho"] == pytest.approx(rho_for(5.0, 1e-7 - spent["preprocessing_delta"]))


def test_infinities_do_not_change_a_dp_statistic() -> None:
    values = np.random.default_rng(0).exponential(100, 3000)
    with_inf = np.concatenate([values, [np.inf, -np.inf, np.inf]])
    a = private_bounds(values, 0.2, np.random.default_rng(5))
    b = private_bounds(with_inf, 0.2, np.random.default_rng(5))
    assert a == b


def test_declared_domain_does_not_move_with_one_record(demo: pd.DataFrame) -> None:
    meta = declared(demo).update("horTh", categories=["no", "yes", "maybe"])  # zero rows
    fits = [
        umbra.create("mst", epsilon=1.0, delta=1e-7, random_state=0).fit(frame, metadata=meta)
        for frame in (demo, demo.iloc[1:])
    ]
    assert fits[0].transformer_.blocks == fits[1].transformer_.blocks
    assert fits[0].metadata_ == fits[1].metadata_
    assert fits[0].privacy_spent_["learned_under_dp"] == []  # type: ignore[attr-defined]
    sizes = {b.name: b.size for b in fits[0].transformer_.blocks}
    column = list(demo.columns).index("horTh")
    assert sizes[f"c{column}.code"] == 3  # the declared category with no rows is in the domain


def test_a_record_with_infinities_or_nulls_does_not_change_a_declared_layout(
    demo: pd.DataFrame,
) -> None:
    """With every domain declared, one odd record (an infinity; a null in a column declared
    nullable) moves neither the blocks nor the metadata: those codes follow the spec alone."""
    meta = declared(demo).update("horTh", nullable=True).update("age", nullable=True)
    odd = demo.iloc[:2].astype({"age": float})
    odd.loc[odd.index[0], "age"] = np.inf
    odd.loc[odd.index[1], "horTh"] = None
    fits = [
        umbra.create("mst", epsilon=1.0, delta=1e-7, random_state=0).fit(frame, metadata=meta)
        for frame in (demo.astype({"age": float}), pd.concat([demo, odd], ignore_index=True))
    ]
    assert fits[0].transformer_.blocks == fits[1].transformer_.blocks
    assert fits[0].metadata_ == fits[1].metadata_
    assert np.isfinite(fits[1].sample(2000)["age"].dropna()).all()


def test_mst_keeps_a_strong_dependence_and_reports_its_spend(demo: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    x = rng.choice(["a", "b", "c"], 4000)
    df = pd.DataFrame({"x": x, "y": np.where(x == "a", "p", "q"), "z": rng.uniform(0, 1, 4000)})
    synth = umbra.create("mst", epsilon=1.0, delta=1e-7, random_state=0)
    fake = synth.fit(df, metadata=declared(df)).sample(4000)
    assert ((fake["x"] == "a") == (fake["y"] == "p")).mean() > 0.95
    assert set(fake["x"]) <= {"a", "b", "c"} and fake["z"].between(0, 1).all()
    assert fake.isna().sum().sum() == 0  # no nulls where the source has none
    spent = synth.privacy_spent_  # type: ignore[attr-defined]
    assert spent["epsilon"] == 1.0 and spent["delta"] == 1e-7
    assert spent["rho"] == pytest.approx(rho_for(1.0, 1e-7))


def test_tree_sampler_matches_the_models_conditionals() -> None:
    rng = np.random.default_rng(1)
    order = tree_order(3, [(0, 1), (1, 2)])
    tables = [
        np.array([0.2, 0.8]),
        np.array([[0.45, 0.55], [0.9, 0.1]]),  # P(col 1 | col 0)
        np.array([[0.3, 0.3, 0.4], [0.05, 0.05, 0.9]]),  # P(col 2 | col 1)
    ]
    rows = sample_tree(200_000, order, tables, rng)
    for (column, parent), table in zip(order, tables, strict=True):
        if parent < 0:
            assert np.bincount(rows[:, column]) / len(rows) == pytest.approx(table, abs=0.005)
            continue
        for value in range(table.shape[0]):
            picked = rows[rows[:, parent] == value, column]
            shares = np.bincount(picked, minlength=table.shape[1]) / len(picked)
            assert shares == pytest.approx(table[value], abs=0.01)


def test_private_tree_selection_finds_the_dependent_pair() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 4, 5000)
    codes = np.column_stack([rng.integers(0, 3, 5000), a, (a + rng.integers(0, 2, 5000)) % 4])
    assert (1, 2) in select_tree(codes, (3, 4, 4), epsilon=1.0, rng=rng)
    assert marginal(codes, (1, 2), (3, 4, 4)).sum() == 5000


def test_ledger_refuses_past_its_cap_and_keeps_every_spend(
    demo: pd.DataFrame, tmp_path: Path
) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    meta = declared(demo)
    ledger.set_cap(demo, epsilon=1.2)
    first = umbra.create("mst", epsilon=1.0, delta=1e-7, random_state=0)
    first.fit(demo, metadata=meta, ledger=ledger)
    with pytest.raises(BudgetExceededError, match=r"spent epsilon 1 of its cap 1.2"):
        umbra.create("mst", epsilon=1.0, delta=1e-7).fit(demo, metadata=meta, ledger=ledger)
    total = ledger.total(demo.sample(frac=1.0, random_state=0))  # row order: same source
    assert total.spends == 1 and total.epsilon == pytest.approx(1.0) and total.cap == 1.2
    assert ledger.entries(demo)[-1]["model_id"] == first.model_id_  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="'f00' is unknown"):
        ledger.set_cap("f00", epsilon=3.0)
    key = fingerprint(demo)
    assert ledger.set_cap(key[:6], epsilon=3.0) == key  # an abbreviation of a known source
    # a model without DP spends nothing
    umbra.create("copula").fit(demo, metadata=meta, ledger=ledger)
    assert ledger.total(demo).spends == 1


def _spend_many(path: str, worker: int) -> None:
    ledger = Ledger(path)
    for k in range(10):
        ledger.spend("src", "test", epsilon=0.01, delta=1e-9, model_id=f"{worker}-{k}")


def test_concurrent_spends_are_all_kept(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.jsonl")
    with ProcessPoolExecutor(4, mp_context=get_context("spawn")) as pool:
        list(pool.map(_spend_many, [path] * 4, range(4)))
    entries = Ledger(path).entries("src")
    assert len(entries) == 40
    assert len({e["model_id"] for e in entries}) == 40
    assert Ledger(path).total("src").epsilon == pytest.approx(0.4)  # basic composition
    ledger = Ledger(tmp_path / "zcdp.jsonl")
    for _ in range(2):
        ledger.spend("s", "mst", epsilon=1.0, delta=1e-7, rho=rho_for(1.0, 1e-7))
    assert 1.0 < ledger.total("s").epsilon < 2.0  # zCDP composes tighter than adding epsilons


def test_damaged_ledger_is_named_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text(json.dumps({"source": "s", "epsilon": 1.0, "delta": 1e-9}) + "\n{oops\n")
    with pytest.raises(InputError, match=r"line 2 is damaged \(not a JSON object\)"):
        Ledger(path).total("s")
    for line, problem in (
        (b"\xff\xfe garbage", "not a JSON object"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b'{"source": "s", "epsilon": "x", "delta": 1e-9}', "epsilon is not a number"),
        (b'{"source": "s", "epsilon": -5, "delta": 1e-9, "rho": -1}', "epsilon -5 is out of"),
        (b'{"source": "s", "cap": "big"}', "cap is not a number"),
        (b'{"epsilon": 1, "delta": 1e-9}', "no source"),
    ):
        path.write_bytes(line + b"\n")
        with pytest.raises(InputError, match=f"line 1 is damaged \\({problem}"):
            Ledger(path).spend("s", "mst", epsilon=1.0, delta=1e-9)
    with pytest.raises(InputError, match="is a folder"):
        Ledger(tmp_path)


def test_fingerprint_ignores_row_order_only(demo: pd.DataFrame) -> None:
    assert fingerprint(demo) == fingerprint(demo.iloc[::-1].reset_index(drop=True))
    changed = demo.copy()
    changed.iloc[0, 0] = changed.iloc[1, 0]
    assert fingerprint(changed) != fingerprint(demo) or demo.iloc[0, 0] == demo.iloc[1, 0]


def test_cli_fits_with_epsilon_books_the_spend_and_shows_the_ledger(
    demo: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from umbra.cli import run

    data = tmp_path / "demo.csv"
    demo.to_csv(data, index=False)
    meta = tmp_path / "meta.json"
    declared(demo).save(meta)
    book = tmp_path / "ledger.jsonl"
    args = ["fit", str(data), "-o", str(tmp_path / "m.umbra"), "--model", "mst", "--seed", "0"]
    args += ["--metadata", str(meta), "--epsilon", "1", "--delta", "1e-6", "--ledger", str(book)]
    assert run(args) == 0
    assert run(["ledger", str(data), "--ledger", str(book), "--cap", "1.1"]) == 0
    out = " ".join("".join(capsys.readouterr()).split())  # (rich wraps long lines)
    assert "1 spend(s), total epsilon 1" in out and "cap 1.1" in out
    assert run([*args, "--force"]) != 0  # a second epsilon 1 would pass the cap of 1.1
    assert "of its cap 1.1" in " ".join(capsys.readouterr().err.split())
    assert book.read_text().count('"mst"') == 1
    assert run(["fit", str(data), "-o", str(tmp_path / "c.umbra"), "--model", "copula",
                "--epsilon", "1"]) != 0  # fmt: skip
    assert "has no differential privacy" in " ".join(capsys.readouterr().err.split())


def test_report_states_the_guarantee_and_the_ledger_total(
    demo: pd.DataFrame, tmp_path: Path
) -> None:
    from umbra.cli import run

    data = tmp_path / "demo.csv"
    demo.to_csv(data, index=False)
    out, book = tmp_path / "fake.csv", tmp_path / "ledger.jsonl"
    args = ["synthesize", str(data), "-o", str(out), "--model", "mst", "--seed", "0"]
    args += ["--epsilon", "5", "--delta", "1e-6", "--ledger", str(book), "--allow-risky"]
    assert run(args) == 0
    html = (tmp_path / "fake.report.html").read_text()
    assert "(5, 1e-06)-differential privacy" in html
    assert "preprocessing_rho" in html and "ledger total for this source" in html
    report = json.loads((tmp_path / "fake.report.json").read_text())
    assert report["info"]["privacy"]["epsilon"] == 5.0
    assert report["info"]["ledger"]["spends"] == 1
    assert report["info"]["learned_from_data"] == []  # all learned under DP, none leaked
    assert "age" in report["info"]["privacy"]["learned_under_dp"]  # a JSON list
    assert run(["ledger", str(tmp_path / "missing.csv"), "--ledger", str(book)]) != 0


def test_a_split_books_on_the_whole_table_and_the_default_ledger(demo: pd.DataFrame) -> None:
    train, _ = umbra.split_holdout(demo, 0.2, random_state=1)
    meta = declared(demo)
    umbra.create("mst", epsilon=0.5, delta=1e-7, random_state=0).fit(train, metadata=meta)
    # the default ledger ($UMBRA_LEDGER), booked on the table the split came from
    assert Ledger().total(demo).spends == 1
    other, _ = umbra.split_holdout(demo, 0.2, random_state=2)
    umbra.create("mst", epsilon=0.5, delta=1e-7).fit(other, metadata=meta, ledger=False)
    assert Ledger().total(demo).spends == 1


def test_canary_audit_bounds_the_dp_model_and_catches_the_exact_one() -> None:
    from umbra.privacy.audit import canary_audit

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.choice(["x", "y", "z"], 300), "b": rng.choice(["p", "q"], 300)})
    meta = umbra.Metadata.detect(df, warn=False).update("a", categories=["x", "y", "z", "canary"])
    meta = meta.update("b", categories=["p", "q"])
    canary = pd.Series({"a": "canary", "b": "p"})

    def fitter(epsilon: float | None) -> Any:
        def fit(table: pd.DataFrame, seed: int) -> umbra.Synthesizer:
            model = umbra.create("mst", epsilon=epsilon, delta=1e-5, iterations=100,
                                 random_state=seed)  # fmt: skip
            return model.fit(table, metadata=meta)

        return fit

    exact = canary_audit(fitter(None), df, canary, "a", trials=200)
    assert exact.epsilon_lower > 3.0 and exact.false_negative_rate == 0  # the attack works
    private = canary_audit(fitter(1.0), df, canary, "a", trials=60, delta=1e-5)
    assert private.epsilon_lower <= 1.0


def test_null_presence_of_a_boolean_is_learned_under_dp_too() -> None:
    rng = np.random.default_rng(3)
    flags = [None] * 3 + list(rng.random(2997) < 0.3)  # three nulls: too few to be released
    df = pd.DataFrame({"flag": pd.array(flags, dtype="boolean"), "x": rng.integers(0, 50, 3000)})
    synth = umbra.create("mst", epsilon=2.0, delta=1e-7, random_state=0)
    synth.fit(df, metadata=umbra.Metadata.detect(df, warn=False))
    spec = synth.metadata_["flag"]
    assert spec.nullable_source == "dp" and spec.nullable is False
    assert synth.sample(2000)["flag"].notna().all()
