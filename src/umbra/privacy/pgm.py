"""Graphical models from noisy marginals (``mbi``), and exact sampling from them.

Columns are numbered ``0..d-1`` (``mbi`` names them ``c0``, ``c1``, ...); a clique is a sorted
tuple of column numbers. :func:`estimate` fits the model consistent with noisy counts;
:func:`clique_tables` reads off the junction tree of its cliques the distribution of each
maximal clique, conditioned on the part it shares with the clique before it; :func:`sample`
draws rows from those tables exactly (each clique's new columns given their separator), so
records keep the model's dependencies (``mbi``'s own generator approximates them).

Example:
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 5000)
    >>> codes = np.column_stack([a, (a + (rng.random(5000) < 0.1)) % 2])
    >>> counts = np.bincount(codes[:, 0] * 2 + codes[:, 1], minlength=4).astype(float)
    >>> model = estimate((2, 2), [((0, 1), counts, 1.0)], iterations=200)
    >>> rows = sample(20_000, clique_tables(model, (2, 2)), (2, 2), rng)
    >>> abs(float((rows[:, 0] == rows[:, 1]).mean()) - 0.9) < 0.02
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Clique = tuple[int, ...]
Measurement = tuple[Clique, np.ndarray, float]  # clique, noisy counts (flat), noise deviation


@dataclass
class CliqueTable:
    """P(``new`` columns | ``separator`` columns) as a (separator cells, new cells) array."""

    separator: Clique
    new: Clique
    table: np.ndarray


def names(clique: Clique) -> tuple[str, ...]:
    """``mbi``'s names of the columns of a clique."""
    return tuple(f"c{j}" for j in clique)


def domain(sizes: tuple[int, ...]) -> Any:
    """The ``mbi`` domain of columns with these numbers of codes."""
    from umbra.privacy import _mbi

    return _mbi.load().Domain(list(names(tuple(range(len(sizes))))), list(sizes))


def estimate(
    sizes: tuple[int, ...],
    measurements: list[Measurement],
    iterations: int,
    warm_start: Any = None,
) -> Any:
    """The ``mbi`` model closest to the noisy counts, each weighted by its noise."""
    from umbra.privacy import _mbi

    mbi = _mbi.load()
    linear = [
        mbi.LinearMeasurement(np.ravel(values), names(clique), stddev=max(sigma, 1.0))
        for clique, values, sigma in measurements
    ]
    return mbi.estimation.MirrorDescent().estimate(
        domain(sizes), linear, iters=iterations, warm_start=warm_start
    )


def project(model: Any, clique: Clique) -> np.ndarray:
    """The model's counts over ``clique`` (axes in the clique's order)."""
    return np.asarray(model.project(names(clique)).datavector(flatten=False), dtype=float)


def model_size(sizes: tuple[int, ...], cliques: list[Clique]) -> float:
    """Megabytes of the junction tree a model over these cliques would need."""
    from umbra.privacy import _mbi

    mbi = _mbi.load()
    return float(
        mbi.junction_tree.hypothetical_model_size(domain(sizes), [names(c) for c in cliques])
    )


def clique_tables(model: Any, sizes: tuple[int, ...]) -> list[CliqueTable]:
    """The model as conditional tables of its maximal cliques, parents first."""
    from umbra.privacy import _mbi

    mbi = _mbi.load()
    cliques = [tuple(int(a[1:]) for a in c) for c in model.cliques] or [
        (j,) for j in range(len(sizes))
    ]
    tree, _ = mbi.junction_tree.make_junction_tree(domain(sizes), [names(c) for c in cliques])
    index = {node: tuple(sorted(int(a[1:]) for a in node)) for node in tree.nodes}
    tables: list[CliqueTable] = []
    seen: set[Any] = set()
    for root in sorted(tree.nodes, key=lambda node: index[node]):
        if root in seen:
            continue
        queue: list[tuple[Any, Any]] = [(root, None)]
        seen.add(root)
        while queue:
            node, parent = queue.pop(0)
            shared = () if parent is None else tuple(sorted(set(index[node]) & set(index[parent])))
            tables.append(_conditional(project(model, index[node]), index[node], shared))
            for child in sorted(tree.neighbors(node), key=lambda c: index[c]):
                if child not in seen:
                    seen.add(child)
                    queue.append((child, node))
    return _drop_covered(tables, len(sizes))


def without_unseen(tables: list[CliqueTable], present: list[np.ndarray]) -> list[CliqueTable]:
    """The tables with the values no row holds (``present[j]``: column ``j``'s values with
    rows) never drawn, for exact counts, whose zeros mirror descent only approaches.

    Example:
        >>> table = CliqueTable((), (0,), np.array([[0.499, 0.002, 0.499]]))
        >>> without_unseen([table], [np.array([True, False, True])])[0].table.tolist()
        [[0.5, 0.0, 0.5]]
    """
    out = []
    for t in tables:
        mask = np.ones(1)
        for j in t.new:
            mask = np.outer(mask, present[j]).ravel()
        kept = t.table * mask
        totals = kept.sum(axis=1, keepdims=True)
        table = np.where(totals > 0, kept / np.where(totals > 0, totals, 1.0), t.table)
        out.append(CliqueTable(t.separator, t.new, table))
    return out


def _conditional(joint: np.ndarray, clique: Clique, separator: Clique) -> CliqueTable:
    """Rows of ``joint`` (over ``clique``) normalised within each separator cell."""
    new = tuple(j for j in clique if j not in separator)
    axes = [clique.index(j) for j in separator + new]
    moved = np.clip(np.transpose(joint, axes), 0, None)
    n_sep = int(np.prod([joint.shape[clique.index(j)] for j in separator], dtype=np.int64))
    flat = moved.reshape(n_sep, -1)
    totals = flat.sum(axis=1, keepdims=True)
    uniform = np.full_like(flat, 1.0 / flat.shape[1])
    table = np.where(totals > 0, flat / np.where(totals > 0, totals, 1.0), uniform)
    return CliqueTable(separator, new, table)


def _drop_covered(tables: list[CliqueTable], d: int) -> list[CliqueTable]:
    """Drop tables that add no column (a clique contained in its neighbour)."""
    kept = [t for t in tables if t.new]
    drawn = sorted(j for t in kept for j in t.new)
    if drawn != list(range(d)):
        raise AssertionError(f"the junction tree covers columns {drawn}, not 0..{d - 1}")
    return kept


def sample(
    n: int, tables: list[CliqueTable], sizes: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """``n`` rows of codes drawn exactly from the tables (one inverse-CDF draw per clique).

    Example:
        >>> t = [CliqueTable((), (0,), np.array([[0.5, 0.5]])),
        ...      CliqueTable((0,), (1,), np.array([[1.0, 0.0], [0.0, 1.0]]))]
        >>> rows = sample(8, t, (2, 2), np.random.default_rng(0))
        >>> bool((rows[:, 0] == rows[:, 1]).all())
        True
    """
    out = np.zeros((n, len(sizes)), dtype=np.int64)
    for t in tables:
        rows = (
            np.ravel_multi_index(
                tuple(out[:, j] for j in t.separator), [sizes[j] for j in t.separator]
            )
            if t.separator
            else np.zeros(n, dtype=np.int64)
        )
        cdf = np.cumsum(t.table, axis=1)
        cdf /= cdf[:, -1:]
        width = cdf.shape[1]
        flat = (cdf + np.arange(len(cdf))[:, None]).ravel()
        position = np.searchsorted(flat, rows + rng.random(n), side="right")
        cell = np.minimum(position - rows * width, width - 1)
        for j, codes in zip(t.new, np.unravel_index(cell, [sizes[j] for j in t.new]), strict=True):
            out[:, j] = codes
    return out


def release() -> None:
    """Free JAX's compiled programs: every new set of cliques compiles new ones, and a long
    run of fits would otherwise exhaust the process's memory maps."""
    import jax

    jax.clear_caches()
