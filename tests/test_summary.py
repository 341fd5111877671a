"""The validation summary: figures that move when the synthetic table is worse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import umbra
from umbra.exceptions import InputError


def test_copies_of_real_rows_are_counted(demo: pd.DataFrame) -> None:
    copied = demo.sample(200, random_state=0).reset_index(drop=True)
    assert umbra.summarize(demo, copied).exact_copy_share == 1.0
    fake = umbra.create("copula", random_state=0).fit(demo).sample(686)
    assert umbra.summarize(demo, fake).exact_copy_share < 0.01


def test_distances_grow_when_the_data_drifts(demo: pd.DataFrame) -> None:
    shifted = demo.copy()
    shifted["age"] = shifted["age"] + 15
    shifted["tgrade"] = "III"
    good = umbra.summarize(demo, demo)
    bad = umbra.summarize(demo, shifted)
    col = {c["column"]: c for c in bad.columns}
    assert col["age"]["ks"] > 0.5 and col["tgrade"]["tvd"] > 0.5
    assert all((c.get("ks") or c.get("tvd") or 0.0) == 0.0 for c in good.columns)
    assert good.correlation["max_abs_diff"] == pytest.approx(0.0, abs=1e-12)


def test_correlation_drift_sees_broken_dependence() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    real = pd.DataFrame({"x": x, "y": x + rng.normal(scale=0.1, size=2000)})
    independent = real.assign(y=rng.permutation(real["y"].to_numpy()))
    drift = umbra.summarize(real, independent).correlation
    assert drift["max_abs_diff"] > 0.9


def test_summary_json_and_missing_columns(demo: pd.DataFrame, tmp_path: Path) -> None:
    summary = umbra.summarize(demo, demo.head(100))
    payload = json.loads(summary.save(tmp_path / "s.json").read_text())
    assert payload["n_synthetic"] == 100
    assert {c["column"] for c in payload["columns"]} == set(demo.columns)
    with pytest.raises(InputError, match=r"columns: missing \[.age.\]"):
        umbra.summarize(demo, demo.drop(columns=["age"]))
