"""Conformance suite run over every registered synthesizer, plus registry and persistence."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import umbra
from umbra.exceptions import (
    IncompatibleVersionError,
    InputError,
    NotFittedError,
    OutputExistsError,
    PersistenceError,
    PrivacyLeakWarning,
)

# Two epochs of training cannot learn every category: that warning is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::umbra.exceptions.TrainingWarning")
MODELS = umbra.available("table")
# Short training for the neural models: the suite checks the contract, not the quality.
FAST: dict[str, dict[str, object]] = {
    "ar": {"epochs": 2},
    "ctgan": {"epochs": 2, "batch_size": 100},
    "tvae": {"epochs": 2, "batch_size": 100},
    "mst": {"epsilon": None, "iterations": 100},  # the contract; DP needs a declared domain
    "aim": {"epsilon": None, "iterations": 100, "round_iterations": 20, "max_rounds": 3},
}


def quick(name: str, **params: object) -> umbra.Synthesizer:
    return umbra.create(name, **{**FAST.get(name, {}), **params})


def fitted(name: str, df: pd.DataFrame, seed: int = 0) -> umbra.Synthesizer:
    return quick(name, random_state=seed).fit(df)


@pytest.mark.parametrize("name", MODELS)
def test_shapes_columns_and_dtypes(name: str, odd: pd.DataFrame) -> None:
    fake = fitted(name, odd).sample(250)
    assert fake.shape == (250, odd.shape[1])
    assert list(fake.columns) == list(odd.columns)
    assert fake.dtypes.astype(str).tolist() == odd.dtypes.astype(str).tolist()
    assert fake["empty"].isna().all() and (fake["const"] == 7).all()
    assert set(fake["ünï"].dropna()) <= {"a", "b", "c"}


@pytest.mark.parametrize("name", MODELS)
def test_reproducible_under_random_state(name: str, demo: pd.DataFrame) -> None:
    a = fitted(name, demo, seed=3).sample(300)
    b = fitted(name, demo, seed=3).sample(300)
    c = fitted(name, demo, seed=4).sample(300)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


@pytest.mark.parametrize("name", MODELS)
def test_successive_samples_differ_but_seeded_sample_repeats(name: str, demo: pd.DataFrame) -> None:
    synth = fitted(name, demo)
    assert not synth.sample(50).equals(synth.sample(50))
    pd.testing.assert_frame_equal(
        synth.sample(50, random_state=9), synth.sample(50, random_state=9)
    )


@pytest.mark.parametrize("name", MODELS)
def test_save_load_continues_identically(name: str, demo: pd.DataFrame, tmp_path: Path) -> None:
    synth = fitted(name, demo)
    synth.sample(10)
    path = synth.save(tmp_path / "model.umbra")
    loaded = umbra.load(path)
    pd.testing.assert_frame_equal(synth.sample(200), loaded.sample(200))
    assert loaded.get_params() == synth.get_params()
    with pytest.raises(OutputExistsError):
        synth.save(path)


@pytest.mark.parametrize("name", MODELS)
def test_not_fitted(name: str, tmp_path: Path) -> None:
    synth = quick(name)
    with pytest.raises(NotFittedError, match="fit"):
        synth.sample(5)
    with pytest.raises(NotFittedError):
        synth.save(tmp_path / "m.umbra")


@pytest.mark.parametrize("name", MODELS)
def test_input_not_mutated(name: str, odd: pd.DataFrame) -> None:
    before = odd.copy(deep=True)
    meta = umbra.Metadata.detect(odd, warn=False)
    meta_before = meta.to_dict()
    quick(name, random_state=0).fit(odd, metadata=meta).sample(20)
    pd.testing.assert_frame_equal(odd, before)
    assert meta.to_dict() == meta_before


@pytest.mark.parametrize("name", MODELS)
def test_bad_sample_sizes(name: str, demo: pd.DataFrame) -> None:
    synth = fitted(name, demo)
    assert len(synth.sample(0)) == 0
    for n in (-1, 2.5, "10", True):
        with pytest.raises(InputError, match="non-negative integer"):
            synth.sample(n)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", MODELS)
def test_single_row_and_non_frames_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="at least 2"):
        quick(name).fit(pd.DataFrame({"a": [1]}))
    with pytest.raises(InputError, match="DataFrame"):
        quick(name).fit([[1, 2]])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", MODELS)
def test_fit_warns_about_what_it_learned(name: str, demo: pd.DataFrame) -> None:
    with pytest.warns(PrivacyLeakWarning, match="bounds of 'age'"):
        quick(name).fit(demo)
    meta = umbra.Metadata.detect(demo, warn=False)
    for spec in meta:
        if spec.bounds is not None:
            meta.update(spec.name, bounds=spec.bounds)
        if spec.categories is not None:
            meta.update(spec.name, categories=spec.categories)
    with pytest.warns() as record:
        quick(name).fit(demo, metadata=meta)
        import warnings

        warnings.warn("sentinel", UserWarning, stacklevel=1)
    leaks = [str(w.message) for w in record if issubclass(w.category, PrivacyLeakWarning)]
    # Declared bounds and categories cost nothing; what the encoding itself learns from the data
    # (mixture modes, quantile bins) is still named.
    assert not [m for m in leaks if "bounds of" in m or "categories of" in m]
    if quick(name).numeric_encoding in ("bgm", "quantile"):
        assert leaks and all("modes of" in m or "quantiles of" in m for m in leaks)
    else:
        assert not leaks


def test_registry_errors() -> None:
    with pytest.raises(InputError, match=r"unknown model 'gan9'.*copula"):
        umbra.create("gan9")
    with pytest.raises(InputError, match=r"no parameter.*'epochs'"):
        umbra.create("copula", epochs=3)
    with pytest.raises(InputError, match="random_state"):
        umbra.create("copula", random_state="seed").fit(pd.DataFrame({"a": [1, 2]}))


def rewrite_manifest(path: Path, **changes: object) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    manifest.update(changes)
    members["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def test_incompatible_version_names_both(demo: pd.DataFrame, tmp_path: Path) -> None:
    path = fitted("copula", demo).save(tmp_path / "m.umbra")
    rewrite_manifest(path, format_version=7, umbra_version="9.9.9")
    with pytest.raises(IncompatibleVersionError, match=r"umbra 9\.9\.9.*version 7.*reads format"):
        umbra.load(path)


def test_load_rejects_other_files(tmp_path: Path) -> None:
    with pytest.raises(PersistenceError, match="no such model"):
        umbra.load(tmp_path / "absent.umbra")
    junk = tmp_path / "junk.umbra"
    junk.write_bytes(b"PK not really a zip")
    with pytest.raises(PersistenceError, match="damaged or not an Umbra model"):
        umbra.load(junk)


def test_copula_keeps_dependence() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=3000)
    group = np.where(x + rng.normal(scale=0.5, size=3000) > 0, "high", "low")
    df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(scale=0.5, size=3000), "g": group})
    fake = fitted("copula", df).sample(3000)
    assert fake[["x", "y"]].corr().iloc[0, 1] > 0.9
    by_group = fake.groupby("g")["x"].mean()
    assert by_group["high"] > 0.3 > -0.3 > by_group["low"]  # independent columns give 0


def test_copula_keeps_rare_categories(adult: pd.DataFrame) -> None:
    fake = fitted("copula", adult).sample(len(adult))
    share = adult["native_country"].value_counts(normalize=True)
    common = share[share >= 0.005].index
    assert set(common) <= set(fake["native_country"].dropna())


def test_damaged_model_files_are_refused_clearly(demo: pd.DataFrame, tmp_path: Path) -> None:
    path = fitted("copula", demo).save(tmp_path / "m.umbra")
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    for offset in rng.choice(len(data), 25, replace=False):
        damaged = tmp_path / f"d{offset}.umbra"
        copy = bytearray(data)
        copy[offset] ^= 0xFF
        damaged.write_bytes(bytes(copy))
        try:
            umbra.load(damaged)
        except PersistenceError:
            continue


def test_edited_state_is_refused(demo: pd.DataFrame, tmp_path: Path) -> None:
    path = fitted("copula", demo).save(tmp_path / "m.umbra")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    state = json.loads(members["state.json"])
    state["transformer"].pop("numeric")
    members["state.json"] = json.dumps(state).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    with pytest.raises(PersistenceError, match="inconsistent"):
        umbra.load(path)


def test_output_follows_the_table_order(demo: pd.DataFrame) -> None:
    meta = umbra.Metadata.detect(demo, warn=False)
    meta.columns.reverse()
    fake = umbra.create("copula", random_state=0).fit(demo, metadata=meta).sample(5)
    assert list(fake.columns) == list(demo.columns)


@pytest.mark.parametrize("name", MODELS)
def test_conditions_give_exactly_n_matching_rows(name: str, demo: pd.DataFrame) -> None:
    synth = fitted(name, demo)
    fake = synth.sample(30, conditions={"horTh": "yes", "tsize": (10, 40)})
    assert (
        len(fake) == 30 and (fake["horTh"] == "yes").all() and fake["tsize"].between(10, 40).all()
    )
    assert list(fake.columns) == list(demo.columns)
    with pytest.raises(umbra.ConditionError, match="'horTh'"):
        synth.sample(5, conditions={"horTh": "sometimes"})


@pytest.mark.parametrize("name", MODELS)
def test_date_conditions_on_zoned_and_text_dates(name: str, odd: pd.DataFrame) -> None:
    synth = fitted(name, odd)
    fake = synth.sample(12, conditions={"when": ("2021-03-10", "2021-04-20")})
    low = pd.Timestamp("2021-03-10", tz="Europe/Berlin")
    high = pd.Timestamp("2021-04-20", tz="Europe/Berlin")
    assert len(fake) == 12 and fake["when"].between(low, high).all()
    assert str(fake["when"].dtype) == str(odd["when"].dtype)
    with pytest.raises(umbra.ConditionError, match="expected a date"):
        synth.sample(3, conditions={"when": "soon"})
