"""Shared fixtures: the package-shipped demo table, odd frames, and the real Adult table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import umbra

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ADULT = SHARED / "adult_census_income" / "adult_train.csv"


@pytest.fixture(scope="session")
def demo() -> pd.DataFrame:
    """The GBSG2 trial table shipped with lifelines: always available."""
    return umbra.datasets.load_demo()


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    """The real Adult census training table, when ../shared/data is present."""
    if not ADULT.is_file():
        pytest.skip("../shared/data/adult_census_income is absent")
    return umbra.read(ADULT, na_values=["?"])


def odd_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Every awkward dtype and label in one table."""
    rng = np.random.default_rng(seed)
    ints = pd.array(rng.integers(0, 100, n), dtype="Int64")
    ints[::7] = pd.NA
    floats = rng.normal(10, 3, n).round(2)
    floats[3], floats[5], floats[8] = np.inf, -np.inf, np.nan
    stamps = pd.date_range("2021-03-01", periods=n, freq="37h", tz="Europe/Berlin")
    return pd.DataFrame(
        {
            "x y (z)": ints,
            0: floats,
            "ünï": pd.Categorical(rng.choice(["a", "b", "c"], n), categories=["a", "b", "c", "d"]),
            "flag": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
            "when": stamps,
            "day": [
                f"{d:02d}/{m:02d}/2023"
                for d, m in zip(rng.integers(1, 29, n), rng.integers(1, 13, n), strict=True)
            ],
            "s": pd.array(rng.choice(["u", "v", None], n), dtype="string"),
            "empty": [None] * n,
            "const": [7] * n,
        }
    )


@pytest.fixture()
def odd() -> pd.DataFrame:
    """A fresh odd frame per test."""
    return odd_frame()
