"""Reversible encoders: dtypes, nulls, integer-ness, precision and bounds come back exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from umbra import Metadata, TableTransformer
from umbra.exceptions import InputError, NotFittedError


def round_trip(df: pd.DataFrame, numeric: str = "raw") -> pd.DataFrame:
    tt = TableTransformer(Metadata.detect(df, warn=False), numeric=numeric).fit(df)
    return tt.inverse_transform(tt.transform(df))


def test_odd_frame_round_trips_exactly(odd: pd.DataFrame) -> None:
    back = round_trip(odd)
    pd.testing.assert_frame_equal(back, odd, check_column_type=False)


def test_demo_round_trips_exactly(demo: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(round_trip(demo), demo)


def test_mode_specific_normalisation_is_reversible() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, 400), rng.normal(100, 5, 400)]).round(3)
    df = pd.DataFrame({"x": x})
    tt = TableTransformer(Metadata.detect(df, warn=False), numeric="bgm").fit(df)
    assert [b.kind for b in tt.blocks] == ["continuous", "discrete"]
    assert tt.blocks[1].size >= 2
    pd.testing.assert_frame_equal(tt.inverse_transform(tt.transform(df)), df)


def test_frequent_exact_values_come_back_exactly_from_any_offset() -> None:
    rng = np.random.default_rng(2)
    gain = np.where(rng.random(3000) < 0.9, 0.0, rng.exponential(5000, 3000)).round()
    hours = np.where(rng.random(3000) < 0.45, 40.0, rng.normal(40, 12, 3000).round().clip(1, 99))
    df = pd.DataFrame({"gain": gain, "hours": hours})
    tt = TableTransformer(Metadata.detect(df, warn=False), numeric="bgm").fit(df)
    encoded = tt.transform(df)
    codes = encoded.to_numpy()
    noisy = codes.copy()
    noisy[:, [0, 2]] = rng.uniform(-1, 1, (len(df), 2))  # any offset the generator may emit
    back = tt.inverse_transform(pd.DataFrame(noisy, columns=encoded.columns))
    assert (back["gain"][df["gain"] == 0] == 0).all()
    assert (back["hours"][df["hours"] == 40] == 40).all()
    assert (back["gain"][df["gain"] > 0] > 0).mean() > 0.5  # the others still vary


def test_bins_on_a_declared_domain() -> None:
    df = pd.DataFrame({"age": [20, 35, 50, 65]})
    meta = Metadata.detect(df, warn=False).update("age", bounds=(0, 100))
    tt = TableTransformer(meta, numeric="bins", n_bins=10).fit(df)
    assert tt.learned_ == []
    codes = tt.transform(df).iloc[:, 0].tolist()
    assert codes == [2.0, 3.0, 5.0, 6.0]
    back = tt.inverse_transform(tt.transform(df))["age"]
    assert back.dtype == "int64"
    again = tt.transform(pd.DataFrame({"age": back})).iloc[:, 0].tolist()
    assert again == codes  # each value comes back inside its own bin
    edge = pd.DataFrame({"age": [0, 100, 0]})  # the bounds are bins of their own
    assert tt.inverse_transform(tt.transform(edge))["age"].tolist() == [0, 100, 0]


def test_infinities_are_kept() -> None:
    df = pd.DataFrame({"v": [1.0, np.inf, -np.inf, np.nan, 2.5]})
    back = round_trip(df)
    pd.testing.assert_frame_equal(back, df)


def test_many_levels_stay_one_block() -> None:
    df = pd.DataFrame({"level": [f"L{i % 5000}" for i in range(20_000)]})
    tt = TableTransformer(Metadata.detect(df, warn=False)).fit(df)
    encoded = tt.transform(df)
    assert encoded.shape == (20_000, 1)
    assert tt.inverse_transform(encoded).equals(df)


def test_unknown_category_is_named() -> None:
    df = pd.DataFrame({"c": ["a", "b"]})
    tt = TableTransformer(Metadata.detect(df, warn=False)).fit(df)
    tt.metadata.update("c", categories=["a", "b", "z"])
    tt.metadata.columns[0].categories = ["a", "b", "z"]
    with pytest.raises(InputError, match="known categories"):
        tt.encoders_[0].transform(pd.Series(["z"]), np.random.default_rng(0))


def test_decoding_clips_to_bounds_and_rounds() -> None:
    df = pd.DataFrame({"x": [1.25, 2.5, 3.75]})
    tt = TableTransformer(Metadata.detect(df, warn=False)).fit(df)
    out = tt.inverse_transform(np.array([[-10.0], [2.123456], [99.0]]))["x"].tolist()
    assert out == [1.25, 2.12, 3.75]


def test_not_fitted_and_bad_shape() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0]})
    tt = TableTransformer(Metadata.detect(df, warn=False))
    with pytest.raises(NotFittedError):
        tt.transform(df)
    with pytest.raises(InputError, match="shape"):
        tt.fit(df).inverse_transform(np.zeros((2, 3)))
    with pytest.raises(InputError, match="numeric must be one of"):
        TableTransformer(tt.metadata, numeric="magic")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.floats(-1e9, 1e9, allow_nan=False).map(lambda v: round(v, 3))),
        min_size=2,
        max_size=40,
    )
)
def test_numbers_round_trip_property(values: list[float | None]) -> None:
    df = pd.DataFrame({"v": pd.array(values, dtype="Float64")})
    pd.testing.assert_frame_equal(round_trip(df), df)
