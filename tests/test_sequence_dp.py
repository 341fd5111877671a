"""The sequence model under differential privacy: the entity is the unit, nothing about the
events is read from the data, the budget holds, and what cannot be private is refused."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
import torch

import umbra
from umbra.exceptions import BudgetExceededError, InputError
from umbra.privacy.ledger import Ledger
from umbra.synthesizers._nn.seqnet import SequenceNet

from .test_sequence import make_log

PRIVATE = {"epsilon": 4.0, "delta": 1e-5, "max_length": 10, "epochs": 10, "learning_rate": 0.01}


def declared(log: pd.DataFrame) -> umbra.Metadata:
    meta = umbra.Metadata.detect(log, warn=False)
    meta.update("activity", categories=["start", "check", "approve"])
    meta.update("region", categories=["north", "south"]).update("amount", bounds=(0, 200))
    return meta.update("time", bounds=("2024-03-01", "2024-04-30"))


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return make_log(cases=300, long_case=14)


@pytest.fixture(scope="module")
def private(log: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> umbra.Synthesizer:
    book = Ledger(tmp_path_factory.mktemp("ledger") / "ledger.jsonl")
    model = umbra.create("sequence", random_state=0, **PRIVATE)
    model.fit(log, declared(log), ledger=book)
    model.book = book  # type: ignore[attr-defined]
    return model


def test_the_budget_holds_and_is_booked(log: pd.DataFrame, private: umbra.Synthesizer) -> None:
    spent = private.privacy_spent_  # type: ignore[attr-defined]
    assert spent["epsilon"] == 4.0 and spent["unit"] == "entity"
    assert spent["context_sgd_epsilon"] <= spent["context_epsilon"] == 1.0
    assert spent["events_sgd_epsilon"] <= spent["events_epsilon"] == 3.0
    assert spent["learned_under_dp"] == []  # the whole domain was declared
    book = private.book  # type: ignore[attr-defined]
    assert book.total(log).spends == 1 and book.total(log).epsilon == 4.0
    assert list(private.loss_history_.columns) == ["epoch", "epsilon", "seconds"]  # type: ignore[attr-defined]


def test_private_output_is_valid_and_keeps_the_shape_of_cases(
    log: pd.DataFrame, private: umbra.Synthesizer
) -> None:
    with warnings.catch_warnings():  # some entities may reach max_length: noise, not a bug
        warnings.simplefilter("ignore", umbra.exceptions.TrainingWarning)
        fake = private.sample(300)
    assert list(fake.columns) == list(log.columns) and fake.dtypes.equals(log.dtypes)
    by_case = fake.groupby("case", sort=False)
    assert by_case.size().max() <= 10 and by_case["region"].nunique().max() == 1
    assert by_case["time"].apply(lambda t: t.is_monotonic_increasing).all()
    low, high = pd.Timestamp("2024-03-01", tz="UTC"), pd.Timestamp("2024-04-30", tz="UTC")
    assert fake["time"].between(low, high).all()  # naive bounds are UTC
    assert set(fake["activity"]) <= {"start", "check", "approve"}
    assert fake["amount"].between(0, 200).all()
    real_mean = log.groupby("case").size().clip(upper=10).mean()
    assert abs(by_case.size().mean() - real_mean) < 1.5  # the positions carry the lengths


def test_private_model_reloads_with_its_record(private: umbra.Synthesizer, tmp_path: Path) -> None:
    again = umbra.load(private.save(tmp_path / "seq.umbra"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", umbra.exceptions.TrainingWarning)
        assert again.sample(20, random_state=3).equals(private.sample(20, random_state=3))
    assert again.privacy_spent_ == private.privacy_spent_  # type: ignore[attr-defined]


def test_what_would_read_the_events_is_refused_before_training(log: pd.DataFrame) -> None:
    meta = declared(log)
    bare = umbra.Metadata.detect(log, warn=False).update(
        "time", bounds=("2024-03-01", "2024-05-01")
    )
    undated = declared(log).update("time", bounds=None)
    detected = declared(log)
    detected["time"].bounds_source = "data"  # bounds read from the data are not public
    for params, metadata, match in (
        ({"max_length": None}, meta, "max_length must be set"),
        ({}, bare, r"event column\(s\) \['activity', 'amount'\] have no declared domain"),
        ({}, undated, "needs declared bounds"),
        ({}, detected, "index 'time' needs declared bounds"),
        ({"delta": 0.01}, meta, "delta"),
        ({"epsilon": 0}, meta, "epsilon must be a number > 0"),
        ({"max_grad_norm": -1}, meta, "max_grad_norm"),
    ):
        model = umbra.create("sequence", **{**PRIVATE, **params})
        with pytest.raises(InputError, match=match):
            model.fit(log, metadata, ledger=False)


def test_a_fit_refused_for_its_metadata_books_nothing(log: pd.DataFrame, tmp_path: Path) -> None:
    book = Ledger(tmp_path / "ledger.jsonl")
    opened = log.assign(opened=log.groupby("case")["time"].transform("min"))
    meta = declared(opened)  # the context date 'opened' keeps bounds read from the data
    with pytest.raises(InputError, match="'opened' need declared bounds"):
        umbra.create("sequence", **PRIVATE).fit(opened, meta, ledger=book)
    assert book.total(opened).spends == 0
    with pytest.raises(InputError, match="finite epsilon"):
        book.set_cap(opened, epsilon=float("inf"))


def test_a_fit_past_the_cap_is_refused(log: pd.DataFrame, tmp_path: Path) -> None:
    book = Ledger(tmp_path / "ledger.jsonl")
    book.set_cap(log, epsilon=2.0)
    with pytest.raises(BudgetExceededError):
        umbra.create("sequence", **PRIVATE).fit(log, declared(log), ledger=book)


def test_the_entity_loss_vmap_runs_is_the_loss_per_term() -> None:
    torch.manual_seed(0)
    net = SequenceNet([3], [2, 4], hidden=8, layers=1, dropout=0.0, positions=4).eval()
    events = torch.tensor([[[0, 1, 2], [0, 0, 3], [1, 0, 0]]])
    context, steps = torch.tensor([[2]]), torch.tensor([3])
    total, terms = net.loss(context, events, steps)
    assert torch.allclose(net.entity_loss(context, events, steps), total / terms)
    padded = torch.cat([events, torch.zeros((1, 2, 3), dtype=torch.long)], dim=1)
    assert torch.allclose(net.entity_loss(context, padded, steps), total / terms)


def test_cli_fits_a_private_sequence_model_with_settings(
    log: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from umbra.cli import run

    data, meta_path, model = tmp_path / "log.csv", tmp_path / "m.json", tmp_path / "m.umbra"
    log.to_csv(data, index=False)
    declared(umbra.read(data)).save(meta_path)  # the times as the CSV holds them
    base = ["fit", str(data), "-o", str(model), "--metadata", str(meta_path), "--epsilon", "4",
            "--delta", "1e-5", "--ledger", str(tmp_path / "l.jsonl")]  # fmt: skip
    assert run(base) == 2
    assert "max_length must be set" in capsys.readouterr().err
    assert run([*base, "--param", "max_lenght=10"]) == 2
    assert "has no such setting" in capsys.readouterr().err
    assert run([*base, "--param", "max_length"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    for name, hint in (
        ("epsilon=2", "--epsilon"),
        ("verbose=true", "progress"),
        ("random_state=1", "--seed"),
    ):
        assert run([*base, "--param", name]) == 2
        assert hint in capsys.readouterr().err
    assert not model.exists()
    assert run([*base, "--param", "max_length=10", "--param", "epochs=2"]) == 0
    fitted = umbra.load(model)
    assert fitted.name == "sequence" and fitted.max_length == 10  # type: ignore[attr-defined]
    assert fitted.privacy_spent_["epsilon"] == 4.0  # type: ignore[attr-defined]
