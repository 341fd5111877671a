"""The issue's 'done when', measured on real tables: Adult (when ../shared is present)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import umbra
from umbra.cli import run
from umbra.metadata.spec import Metadata

from .conftest import ADULT


def check_release(real: pd.DataFrame, fake: pd.DataFrame, meta: Metadata) -> None:
    """Same columns and dtypes, nothing outside the training domain, nulls close, few copies."""
    assert list(fake.columns) == list(real.columns)
    assert fake.dtypes.astype(str).tolist() == real.dtypes.astype(str).tolist()
    for spec in meta:
        r, f = real[spec.name], fake[spec.name]
        assert abs(r.isna().mean() - f.isna().mean()) <= 0.02, spec.name
        if spec.kind == "numerical":
            assert f.min() >= r.min() and f.max() <= r.max(), spec.name
        if spec.kind == "categorical":
            assert set(f.dropna()) <= set(r.dropna()), spec.name
    assert umbra.summarize(real, fake, meta).exact_copy_share < 0.01


def test_demo_table_release(demo: pd.DataFrame) -> None:
    synth = umbra.create("copula", random_state=0).fit(demo)
    check_release(demo, synth.sample(len(demo)), synth.metadata_)


@pytest.mark.shared_data
def test_adult_release(adult: pd.DataFrame) -> None:
    synth = umbra.create("copula", random_state=0).fit(adult)
    fake = synth.sample(len(adult))
    check_release(adult, fake, synth.metadata_)
    summary = umbra.summarize(adult, fake, synth.metadata_)
    distances = [c.get("ks", c.get("tvd")) for c in summary.columns]
    assert max(distances) < 0.05


@pytest.mark.shared_data
def test_adult_cli(adult: pd.DataFrame, tmp_path: Path) -> None:
    if not ADULT.is_file():
        pytest.skip("../shared/data is absent")
    out = tmp_path / "adult_synthetic.csv"
    assert run(["synthesize", str(ADULT), "-o", str(out), "--na-values", "?", "--seed", "0"]) == 0
    fake = umbra.read(out, na_values=["?"])
    assert fake.shape == adult.shape
    assert np.array_equal(fake.columns, adult.columns)
    check_release(adult, fake, Metadata.detect(adult, warn=False))  # the default model (ar)
