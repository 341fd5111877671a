"""Marginal mechanisms on discrete codes: noisy counts, private tree selection, exact sampling.

These are the building blocks of MST (McKenna, Miklau & Sheldon 2021): Gaussian-noised marginal
counts (a record changes one cell by one, so the L2 sensitivity of one marginal is 1), a
maximum spanning tree chosen edge by edge with the exponential mechanism (Kruskal's algorithm,
scores of sensitivity 1), and sampling from a tree-structured model exactly: the root from its
marginal, every other column from its conditional given its parent.

Example:
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 4000)
    >>> codes = np.column_stack([a, a, rng.integers(0, 3, 4000)])
    >>> counts = marginal(codes, (0, 1), (2, 2, 3))
    >>> counts.shape, int(counts.sum())
    ((2, 2), 4000)
    >>> select_tree(codes, (2, 2, 3), epsilon=None, rng=rng)[0]
    (0, 1)
"""

from __future__ import annotations

import itertools

import numpy as np

from umbra.privacy.selection import exponential_choice


def marginal(codes: np.ndarray, clique: tuple[int, ...], sizes: tuple[int, ...]) -> np.ndarray:
    """Counts of the code combinations of the ``clique``'s columns, shaped by their sizes."""
    shape = tuple(sizes[j] for j in clique)
    flat = np.ravel_multi_index(tuple(codes[:, j] for j in clique), shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(float)


def noisy(counts: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``counts`` plus Gaussian noise of scale ``sigma`` (none when ``sigma`` is 0)."""
    return counts + rng.normal(0.0, sigma, counts.shape) if sigma > 0 else counts.copy()


def select_tree(
    codes: np.ndarray,
    sizes: tuple[int, ...],
    epsilon: float | None,
    rng: np.random.Generator,
    one_way: list[np.ndarray] | None = None,
) -> list[tuple[int, int]]:
    """The edges of a spanning tree over the columns, strongest dependence first.

    An edge's score is the L1 distance between the pair's counts and the product of its
    one-way marginals (``one_way``: already-private estimates; the exact ones when ``None``),
    which a record changes by at most 1. Each of the ``d - 1`` rounds picks among the edges
    that join two components with the exponential mechanism at ``epsilon`` (``None``: the
    best edge, no privacy).
    """
    d = len(sizes)
    if one_way is None:
        one_way = [marginal(codes, (j,), sizes) for j in range(d)]
    total = max(float(np.mean([np.clip(m, 0, None).sum() for m in one_way])), 1.0)
    probs = [np.clip(m, 0, None) / max(np.clip(m, 0, None).sum(), 1e-12) for m in one_way]
    scores = {}
    for i, j in itertools.combinations(range(d), 2):
        expected = np.outer(probs[i], probs[j]) * total
        scores[(i, j)] = float(np.abs(marginal(codes, (i, j), sizes) - expected).sum())
    component = list(range(d))
    edges: list[tuple[int, int]] = []
    while len(edges) < d - 1:
        candidates = [e for e in scores if component[e[0]] != component[e[1]]]
        values = np.array([scores[e] for e in candidates])
        chosen = candidates[exponential_choice(values, 1.0, epsilon, rng)]
        edges.append(chosen)
        old, new = component[chosen[1]], component[chosen[0]]
        component = [new if c == old else c for c in component]
    return edges


def tree_order(d: int, edges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(column, parent) pairs in an order where every parent comes first (parent -1: a root).

    Example:
        >>> tree_order(4, [(2, 3), (0, 2)])
        [(0, -1), (2, 0), (3, 2), (1, -1)]
    """
    neighbours: dict[int, list[int]] = {j: [] for j in range(d)}
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)
    order: list[tuple[int, int]] = []
    seen: set[int] = set()
    for root in range(d):
        if root in seen:
            continue
        queue, seen = [(root, -1)], seen | {root}
        while queue:
            column, parent = queue.pop(0)
            order.append((column, parent))
            for nxt in sorted(neighbours[column]):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, column))
    return order


def sample_tree(
    n: int,
    order: list[tuple[int, int]],
    tables: list[np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    """Exact draws from a tree model: ``tables[k]`` is P(column) for a root, else P(column |
    parent) as (parent codes, column codes); one inverse-CDF draw per row and column.

    Example:
        >>> order = [(0, -1), (1, 0)]
        >>> tables = [np.array([0.5, 0.5]), np.array([[1.0, 0.0], [0.0, 1.0]])]
        >>> rows = sample_tree(6, order, tables, np.random.default_rng(0))
        >>> bool((rows[:, 0] == rows[:, 1]).all())
        True
    """
    out = np.zeros((n, len(order)), dtype=np.int64)
    for (column, parent), table in zip(order, tables, strict=True):
        rows = np.broadcast_to(table, (n, len(table))) if parent < 0 else table[out[:, parent]]
        cdf = np.cumsum(rows, axis=1)
        u = rng.random(n) * cdf[:, -1]
        out[:, column] = np.minimum((cdf < u[:, None]).sum(axis=1), table.shape[-1] - 1)
    return out
