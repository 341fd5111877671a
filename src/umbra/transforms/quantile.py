"""Numbers as tokens: frequent exact values ("points") plus quantile bins for the rest.

A value that holds a noticeable share of the rows (0 in a capital-gain column, 40 in weekly hours,
each age) becomes a token of its own and comes back exactly. The other values are cut into bins
at their quantiles, finer in the tails (the 0.1%, 0.2%, 0.5%, 1% and 2% levels on each side),
so that the tails keep their shape; a bin decodes to a uniform draw inside it (log-uniform for
the wide bins of heavy tails), never to a stored real value.
Every point and every bin holds at least ``min_rows`` training rows, so no token stands for one
person's value.

Example:
    >>> values = np.r_[np.zeros(500), np.arange(1.0, 501.0)]
    >>> points, edges = fit_tokens(values, (0.0, 500.0), integer=True, n_bins=8, min_rows=10)
    >>> points.tolist(), len(edges) - 1
    ([0.0], 10)
    >>> codes = encode_tokens(np.array([0.0, 250.0]), points, edges)
    >>> codes.tolist()
    [0, 5]
    >>> back = decode_tokens(codes, points, edges, np.random.default_rng(0))
    >>> float(back[0]), bool(edges[4] <= back[1] < edges[5])
    (0.0, True)
"""

from __future__ import annotations

import numpy as np

TAIL_LEVELS = (0.001, 0.002, 0.005, 0.01, 0.02)
POINT_SHARE = 0.25  # a value is a point when it holds this share of one bin's rows
SPREAD = 3.0  # an outer bin this many times wider than its neighbour is drawn as a tail
WIDE = 10.0  # a bin wider than this factor (on one side of zero) is drawn log-uniformly


def fit_tokens(
    values: np.ndarray,
    bounds: tuple[float, float],
    *,
    integer: bool,
    n_bins: int,
    min_rows: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(points, edges) for the finite ``values`` of a column with ``bounds``."""
    uniques, counts = np.unique(values, return_counts=True)
    few = integer and len(uniques) <= 2 * n_bins
    threshold = min_rows if few else max(min_rows, POINT_SHARE * len(values) / n_bins)
    points = uniques[counts >= threshold]
    rest = values[~np.isin(values, points)]
    return points.astype(float), _edges(rest, bounds, integer, n_bins, min_rows)


def _edges(
    rest: np.ndarray, bounds: tuple[float, float], integer: bool, n_bins: int, min_rows: int
) -> np.ndarray:
    """Quantile edges of ``rest``, the outer ones on the bounds (empty when nothing is left)."""
    if not len(rest):
        return np.empty(0)
    bins = max(1, min(n_bins, len(rest) // max(min_rows, 1)))
    levels = list(np.linspace(0.0, 1.0, bins + 1))
    for level in TAIL_LEVELS:
        if level * len(rest) >= min_rows and level < 1.0 / bins:
            levels += [level, 1.0 - level]
    inner = np.quantile(rest, sorted(levels)[1:-1])
    low, high = bounds
    if integer:
        inner = np.floor(inner) + 0.5
        low, high = np.floor(low) - 0.5, np.floor(high) + 0.5
    edges = np.unique(np.r_[low, inner[(inner > low) & (inner < high)], high])
    return edges if len(edges) > 1 else np.array([low, high + (1.0 if low == high else 0.0)])


def n_tokens(points: np.ndarray, edges: np.ndarray) -> int:
    """How many codes the column has."""
    return len(points) + max(len(edges) - 1, 0)


def encode_tokens(values: np.ndarray, points: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Code of each finite value: its point, else its bin (after the points)."""
    codes = np.empty(len(values), dtype=np.int64)
    index = np.searchsorted(points, values).clip(0, max(len(points) - 1, 0))
    is_point = points[index] == values if len(points) else np.zeros(len(values), dtype=bool)
    codes[is_point] = index[is_point]
    other = ~is_point
    if len(edges) > 1:
        bins = np.searchsorted(edges, values[other], side="right") - 1
        codes[other] = len(points) + bins.clip(0, len(edges) - 2)
    elif other.any():  # no bins: the nearest point
        nearest = np.abs(values[other, None] - points[None, :]).argmin(axis=1)
        codes[other] = nearest
    return codes


def decode_tokens(
    codes: np.ndarray,
    points: np.ndarray,
    edges: np.ndarray,
    rng: np.random.Generator,
    *,
    declared: bool = False,
) -> np.ndarray:
    """Points exactly; bins as draws between their edges.

    With ``declared`` bounds the outer edges are the user's, not the data's extremes, so an
    outer bin can reach far past the data: it is drawn as a tail that decays away from its
    inner edge at the scale of the bin next to it (and never crosses the bound).
    """
    codes = codes.astype(np.int64).clip(0, n_tokens(points, edges) - 1)
    out = np.empty(len(codes))
    is_point = codes < len(points)
    out[is_point] = points[codes[is_point]]
    bins = codes[~is_point] - len(points)
    if len(bins):
        u = rng.random(len(bins))
        values = _inside(edges[bins], edges[bins + 1], u)
        if declared and len(edges) > 3:
            _tails(values, bins, edges, u)
        out[~is_point] = values
    return out


def _tails(values: np.ndarray, bins: np.ndarray, edges: np.ndarray, u: np.ndarray) -> None:
    """Redraw the outer bins much wider than their neighbours as truncated exponential tails."""
    last = len(edges) - 2
    for index, inner, bound, scale in (
        (0, edges[1], edges[0], edges[2] - edges[1]),
        (last, edges[-2], edges[-1], edges[-2] - edges[-3]),
    ):
        width = abs(bound - inner)
        chosen = bins == index
        if width <= SPREAD * scale or not chosen.any():
            continue
        reach = -scale * np.log1p(-u[chosen] * -np.expm1(-width / scale))
        values[chosen] = inner + np.sign(bound - inner) * reach


def _inside(low: np.ndarray, high: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A draw inside each ``[low, high)``: uniform, or log-uniform where the bin lies on one
    side of zero and spans more than a factor of ``WIDE`` (the heavy tails), so that most draws
    stay near the inner edge as they do in the data.

    Example:
        >>> _inside(np.array([0.0, 10.0]), np.array([1.0, 10_000.0]), np.array([0.5, 0.5])).round(1)
        array([  0.5, 316.2])
    """
    out = low + u * (high - low)
    magnitude = np.minimum(np.abs(low), np.abs(high))
    wide = (low * high > 0) & (np.maximum(np.abs(low), np.abs(high)) > WIDE * magnitude)
    if wide.any():
        lo, hi = np.log(np.abs(low[wide])), np.log(np.abs(high[wide]))
        out[wide] = np.sign(low[wide]) * np.exp(lo + u[wide] * (hi - lo))
    return out
