"""Numbers and datetimes: a value block plus a status block (value, null, +inf, -inf).

Four ways to encode the value: ``raw`` (the number itself, for copulas), ``bgm`` (mode-specific
normalisation with a Bayesian Gaussian mixture; an integer column spanning at most ``n_bins``
values becomes one code per value instead), ``bins`` (discretised onto the bounds; whole
numbers spanning at most ``integer_values`` values get a code each) and ``quantile`` (frequent
exact values plus quantile bins, see :mod:`umbra.transforms.quantile`).

Example:
    >>> import pandas as pd
    >>> from umbra.metadata.spec import ColumnSpec, format_dates, parse_dates
    >>> spec = ColumnSpec("x", "numerical", "float64", nullable=True, decimals=1)
    >>> rng = np.random.default_rng(0)
    >>> enc = NumericalEncoder(spec, "c0").fit(pd.Series([1.5, None, 2.5]), rng)
    >>> [b.name for b in enc.blocks()]
    ['c0.value', 'c0.status']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from umbra.exceptions import InputError
from umbra.metadata.spec import ColumnSpec, format_dates, parse_dates
from umbra.transforms.base import Block, Encoder, fill_from_values, restore_dtype
from umbra.transforms.mixture import ModeNormalizer
from umbra.transforms.quantile import decode_tokens, encode_tokens, fit_tokens, n_tokens

STATUSES = ("value", "null", "+inf", "-inf")
METHODS = ("raw", "bgm", "bins", "quantile")
INT64_LIMIT = 2.0**63
MIN_TOKEN_ROWS = 10  # rows behind every quantile token (point or bin)
DAY = 86_400.0


def status_of(values: np.ndarray) -> np.ndarray:
    """Global status index per value: 0 value, 1 null, 2 +inf, 3 -inf.

    Example:
        >>> status_of(np.array([1.0, np.nan, np.inf, -np.inf])).tolist()
        [0, 1, 2, 3]
    """
    out = np.zeros(len(values), dtype=np.int64)
    out[np.isnan(values)] = 1
    out[values == np.inf] = 2
    out[values == -np.inf] = 3
    return out


class NumericalEncoder(Encoder):
    """Encode a numerical column; decode with its bounds, precision and dtype."""

    kind_name = "numerical"

    def __init__(
        self,
        spec: ColumnSpec,
        prefix: str,
        method: str = "raw",
        n_bins: int = 32,
        integer_values: int | None = None,
    ) -> None:
        super().__init__(spec, prefix)
        if method not in METHODS:
            raise InputError(f"numeric method must be one of {METHODS}, received {method!r}")
        self.method = method
        self.n_bins = n_bins
        self.integer_values = n_bins if integer_values is None else integer_values
        self.statuses: list[int] = []
        self.bounds: list[float] | None = None
        self.edges: np.ndarray | None = None
        self.modes: dict[str, Any] | None = None
        self.points: np.ndarray | None = None

    def values_of(self, series: pd.Series) -> np.ndarray:
        """The column as floats (NaN for missing)."""
        if series.dtype == object or str(series.dtype) in ("string", "category"):
            series = pd.to_numeric(series.astype(object), errors="coerce")
        return series.to_numpy(dtype=float, na_value=np.nan)

    def fit(self, series: pd.Series, rng: np.random.Generator) -> NumericalEncoder:
        values = self.values_of(series)
        status = status_of(values)
        if self.public:  # a DP model: which statuses exist is the spec's, never the data's
            self.statuses = [0, 1] if self.spec.nullable else [0]
        else:
            self.statuses = sorted(set(status.tolist()) | ({1} if self.spec.nullable else set()))
        finite = values[status == 0]
        declared = self.declared_bounds()
        if declared is not None:
            self.bounds = declared
        elif len(finite):
            self.bounds = [float(finite.min()), float(finite.max())]
            self.learned.append(f"bounds of {self.spec.name!r}")
        if self.bounds is None:
            return self
        if self.method == "bgm" and self._few_integers():
            self.method = "bins"  # a short integer range is best modelled as categories
        if self.method == "bgm":
            self.modes = ModeNormalizer.fit(finite, rng).state()
            self.learned.append(f"modes of {self.spec.name!r}")
        elif self.method == "bins":
            self.edges = self._edges()
        elif self.method == "quantile":
            self._fit_quantiles(finite)
        return self

    def _fit_quantiles(self, finite: np.ndarray) -> None:
        assert self.bounds is not None
        low, high = self.bounds
        self.points, self.edges = fit_tokens(
            finite[(finite >= low) & (finite <= high)] if len(finite) else np.array([low]),
            (low, high),
            integer=self.spec.integer,
            n_bins=self.n_bins,
            min_rows=MIN_TOKEN_ROWS,
        )
        self.learned.append(f"quantiles of {self.spec.name!r}")

    def _few_integers(self) -> bool:
        """An integer column whose bounds span at most ``integer_values`` values."""
        assert self.bounds is not None
        span = self.bounds[1] - self.bounds[0] + 1
        return bool(self.spec.integer and span <= getattr(self, "integer_values", self.n_bins))

    def declared_bounds(self) -> list[float] | None:
        """Bounds from the metadata, as floats (None when the metadata has none)."""
        return None if self.spec.bounds is None else [float(b) for b in self.spec.bounds]

    def _edges(self) -> np.ndarray:
        assert self.bounds is not None
        low, high = self.bounds
        if self._few_integers():
            return np.arange(low - 0.5, high + 1.0)
        if high - low <= 0 or self.n_bins < 3:
            return np.linspace(low, high, self.n_bins + 1)
        # real bounds are bins of their own (no width), so a mass at a bound comes back
        # exactly; a bound learned under DP is a grid edge (only zero is a real value)
        dp = self.spec.bounds_source == "dp"
        points = [not dp or low == 0, not dp or high == 0]
        inner = np.linspace(low, high, self.n_bins + 1 - sum(points))
        return np.concatenate([[low] * points[0], inner, [high] * points[1]])

    def blocks(self) -> list[Block]:
        out = []
        if self.bounds is not None:
            if self.method == "quantile":
                assert self.points is not None and self.edges is not None
                size = n_tokens(self.points, self.edges)
                out.append(Block(f"{self.prefix}.bin", "discrete", size))
            elif self.method == "bins":
                assert self.edges is not None
                out.append(Block(f"{self.prefix}.bin", "discrete", len(self.edges) - 1))
            else:
                out.append(Block(f"{self.prefix}.value", "continuous", 1))
            if self.method == "bgm":
                out.append(Block(f"{self.prefix}.mode", "discrete", self._normalizer().n_modes))
        if len(self.statuses) > 1:
            out.append(Block(f"{self.prefix}.status", "discrete", len(self.statuses)))
        return out

    def _normalizer(self) -> ModeNormalizer:
        assert self.modes is not None
        return ModeNormalizer.from_state(self.modes)

    def transform(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        return self.encode_values(self.values_of(series), rng)

    def encode_values(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Encode float values (NaN and infinities allowed)."""
        status = status_of(values)
        columns = []
        if self.bounds is not None:
            filled = fill_from_values(values, status != 0, rng)
            if self.method == "quantile":
                assert self.points is not None and self.edges is not None
                columns.append(encode_tokens(filled, self.points, self.edges).astype(float))
            elif self.method == "bins":
                assert self.edges is not None
                codes = np.searchsorted(self.edges, filled, side="right") - 1
                codes = np.clip(codes, 0, len(self.edges) - 2)
                codes[filled <= self.edges[0]] = 0
                if self.edges[-1] == self.edges[-2]:  # the upper bound's own bin
                    codes[filled >= self.edges[-1]] = len(self.edges) - 2
                columns.append(codes.astype(float))
            elif self.method == "bgm":
                alpha, mode = self._normalizer().transform(filled, rng)
                columns += [alpha, mode.astype(float)]
            else:
                columns.append(filled)
        if len(self.statuses) > 1:
            lookup = {s: i for i, s in enumerate(self.statuses)}
            columns.append(np.array([lookup.get(s, 0) for s in status], dtype=float))
        return np.column_stack(columns) if columns else np.empty((len(values), 0))

    def decode_values(self, encoded: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Decode to floats within bounds and precision, with NaN and infinities restored."""
        n = encoded.shape[0]
        values = np.full(n, np.nan)
        if self.bounds is not None:
            values = self._decode_value(encoded, rng)
            values = np.clip(values, self.bounds[0], self.bounds[1])
            values = self._round(values)
        if len(self.statuses) > 1:
            status = np.asarray(self.statuses)[encoded[:, -1].astype(int)]
        else:
            status = np.full(n, self.statuses[0] if self.statuses else 0)
        values[status == 1] = np.nan
        values[status == 2] = np.inf
        values[status == 3] = -np.inf
        return values

    def _decode_value(self, encoded: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.method == "quantile":
            assert self.points is not None and self.edges is not None
            declared = self.spec.bounds is not None
            return decode_tokens(encoded[:, 0], self.points, self.edges, rng, declared=declared)
        if self.method == "bins":
            assert self.edges is not None
            codes = np.clip(encoded[:, 0].astype(int), 0, len(self.edges) - 2)
            low, high = self.edges[codes], self.edges[codes + 1]
            return low + rng.random(len(codes)) * (high - low)
        if self.method == "bgm":
            return self._normalizer().inverse(encoded[:, 0], encoded[:, 1].astype(int))
        return encoded[:, 0].astype(float)

    def _round(self, values: np.ndarray) -> np.ndarray:
        decimals = 0 if self.spec.integer else self.spec.decimals
        return values if decimals is None else np.round(values, decimals)

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        values = self.decode_values(encoded, rng)
        series = pd.Series(values)
        finite = np.isfinite(values).all()
        if self.spec.integer and finite and np.abs(values).max(initial=0.0) < INT64_LIMIT:
            series = series.astype("int64")  # (whole numbers beyond int64 stay floats)
        return restore_dtype(series, self.spec.dtype)


class DatetimeEncoder(NumericalEncoder):
    """Datetimes (native or stored as text) as seconds since the epoch, in UTC."""

    kind_name = "datetime"
    resolution = 1.0  # seconds; set from the data by ``fit``

    def values_of(self, series: pd.Series) -> np.ndarray:
        stamps = self.utc(series)
        seconds = stamps.to_numpy().astype("int64") / 1e9
        seconds[stamps.isna().to_numpy()] = np.nan
        return seconds

    def utc(self, series: pd.Series) -> pd.Series:
        """The column as naive UTC ``datetime64[ns]`` (NaT for missing or unparseable text)."""
        fmt = self.spec.datetime_format
        if not pd.api.types.is_datetime64_any_dtype(series.dtype):
            series = parse_dates(series, fmt) if fmt else pd.to_datetime(series, errors="coerce")
        if getattr(series.dtype, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return series.astype("datetime64[ns]")

    def declared_bounds(self) -> list[float] | None:
        if self.spec.bounds is None:
            return None
        return [_epoch_seconds(pd.Timestamp(b)) for b in self.spec.bounds]

    def fit(self, series: pd.Series, rng: np.random.Generator) -> DatetimeEncoder:
        super().fit(series, rng)
        self.resolution = _resolution(self.utc(series).dropna().to_numpy().astype("int64"))
        return self

    def _round(self, values: np.ndarray) -> np.ndarray:
        return np.round(values / self.resolution) * self.resolution

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        return self.from_seconds(self.decode_values(encoded, rng))

    def from_seconds(self, seconds: np.ndarray) -> pd.Series:
        """Seconds since the epoch (UTC) as the column: its zone, text format and dtype."""
        seconds = np.array(seconds, dtype=float)
        seconds[~np.isfinite(seconds)] = np.nan
        stamps = pd.to_datetime(pd.Series(np.round(seconds * 1e6)), unit="us")
        if self.spec.timezone is not None:
            stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(self.spec.timezone)
        fmt = self.spec.datetime_format
        if fmt is not None:
            digits = 3 if self.resolution >= 1e-3 else 6
            return restore_dtype(format_dates(stamps, fmt, digits), self.spec.dtype)
        return restore_dtype(stamps, self.spec.dtype)


def _epoch_seconds(stamp: pd.Timestamp) -> float:
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return float(stamp.value) / 1e9


def _resolution(nanos: np.ndarray) -> float:
    """The coarsest of day/hour/minute/second/millisecond/microsecond (in seconds) dividing
    every value, computed exactly on integer nanoseconds."""
    for unit in (DAY, 3600.0, 60.0, 1.0, 1e-3):
        if np.all(nanos % round(unit * 1e9) == 0):
            return unit
    return 1e-6
