"""How the encoded blocks become a network's input and output, and the conditional vector.

Continuous blocks take one unit (tanh); a discrete block of size k takes k units (softmax).
The conditional vector one-hot encodes one category of one *conditionable* block (categories,
booleans, null/inf status; not the mixture modes, nor blocks of more than ``COND_MAX_SIZE``
tokens, whose one-hot input would dominate the cost). Training samples the block uniformly and
the category by its log frequency, so rare categories are trained on (Xu et al. 2019).

Example:
    >>> from umbra.transforms.base import Block
    >>> blocks = [Block("c0.value", "continuous", 1), Block("c1.code", "discrete", 3)]
    >>> layout = Layout(blocks)
    >>> layout.width, layout.cond_width
    (4, 3)
    >>> layout.to_matrix(np.array([[0.5, 2.0]])).tolist()
    [[0.5, 0.0, 0.0, 1.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from umbra.transforms.base import Block

ALPHA_LIMIT = 0.99
COND_MAX_SIZE = 100


@dataclass(frozen=True)
class Span:
    """One block's units in the network's representation."""

    start: int
    width: int
    discrete: bool


class Layout:
    """Spans of the network representation and offsets of the conditional vector."""

    def __init__(self, blocks: list[Block], conditional: bool = True) -> None:
        self.conditional = conditional
        self.spans: list[Span] = []
        start = 0
        for block in blocks:
            discrete = block.kind == "discrete"
            width = block.size if discrete else 1
            self.spans.append(Span(start, width, discrete))
            start += width
        self.width = start
        self.cond_blocks = [
            j
            for j, b in enumerate(blocks)
            if conditional
            and b.kind == "discrete"
            and not b.name.endswith(".mode")
            and b.size <= COND_MAX_SIZE
        ]
        self.cond_offsets: dict[int, int] = {}
        offset = 0
        for j in self.cond_blocks:
            self.cond_offsets[j] = offset
            offset += blocks[j].size
        self.cond_width = offset
        self._padding()

    def _padding(self) -> None:
        """Index tensors of the discrete units (and their spans) and of the value units.

        Softmaxes run on the flat discrete units with per-span reductions, never on spans
        padded to the widest: a table with one 400-level column and forty binary ones would
        otherwise cost 400 units per span.
        """
        discrete = [s for s in self.spans if s.discrete]
        units = [np.arange(s.start, s.start + s.width) for s in discrete]
        self.n_discrete = len(discrete)
        self.discrete_index = torch.from_numpy(
            np.concatenate(units).astype(np.int64) if units else np.zeros(0, np.int64)
        )
        owner = [np.full(s.width, i) for i, s in enumerate(discrete)]
        self.unit_span = torch.from_numpy(
            np.concatenate(owner).astype(np.int64) if owner else np.zeros(0, np.int64)
        )
        flat = np.array([s.start for s in self.spans if not s.discrete], dtype=np.int64)
        self.value_index = torch.from_numpy(flat)
        order = np.concatenate([self.discrete_index.numpy(), flat]).astype(np.int64)
        self._inverse = torch.from_numpy(np.argsort(order, kind="stable"))
        cond_units = [
            np.arange(self.spans[j].start, self.spans[j].start + self.spans[j].width)
            for j in self.cond_blocks
        ]
        self.cond_units = torch.from_numpy(
            np.concatenate(cond_units).astype(np.int64) if cond_units else np.zeros(0, np.int64)
        )

    def _log_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """Log-softmax of ``(rows, discrete units)`` logits within each span."""
        shape = (len(logits), self.n_discrete)
        span = self.unit_span.expand(len(logits), -1)
        with torch.no_grad():  # any shift is exact: the max only keeps exp() in range
            top = logits.new_full(shape, float("-inf")).scatter_reduce(
                1, span, logits, reduce="amax"
            )
        shifted = logits - top[:, self.unit_span]
        total = logits.new_zeros(shape).index_add(1, self.unit_span, shifted.exp())
        return shifted - total.log()[:, self.unit_span]

    def _assemble(self, discrete: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Rows from the discrete units and the value units (each in layout order)."""
        return torch.cat([discrete, values], dim=1)[:, self._inverse]

    def to_matrix(self, encoded: np.ndarray) -> np.ndarray:
        """Encoded blocks (codes, alphas) to the network representation (one-hot, clipped)."""
        out = np.zeros((len(encoded), self.width), dtype=np.float32)
        rows = np.arange(len(encoded))
        for j, span in enumerate(self.spans):
            if span.discrete:
                codes = np.clip(encoded[:, j].astype(np.int64), 0, span.width - 1)
                out[rows, span.start + codes] = 1.0
            else:
                out[:, span.start] = np.clip(encoded[:, j], -ALPHA_LIMIT, ALPHA_LIMIT)
        return out

    def activate(self, raw: torch.Tensor, tau: float = 0.2) -> torch.Tensor:
        """Generator output to a row: tanh for values, Gumbel-softmax for categories."""
        if not self.n_discrete:
            return torch.tanh(raw)
        logits = raw[:, self.discrete_index]
        uniform = torch.rand_like(logits).clamp_(1e-10, 1.0)
        gumbel = -(-uniform.log()).log()
        soft = self._log_softmax((logits + gumbel) / tau).exp()
        return self._assemble(soft, torch.tanh(raw[:, self.value_index]))

    def draw(self, values: np.ndarray, logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Encoded rows from network output: values as given, categories drawn from softmax."""
        out = np.empty((len(values), len(self.spans)))
        for j, span in enumerate(self.spans):
            if span.discrete:
                out[:, j] = draw_categories(logits[:, span.start : span.start + span.width], rng)
            else:
                out[:, j] = np.nan_to_num(values[:, span.start], nan=0.0)
        return out

    def log_probs(self, raw: torch.Tensor) -> torch.Tensor:
        """Log-softmax of each discrete span: ``(rows, discrete units)``, in layout order."""
        return self._log_softmax(raw[:, self.discrete_index])

    def cross_entropy(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Summed cross-entropy of the discrete spans of ``raw`` against one-hot ``target``."""
        if not self.n_discrete:
            return raw.new_zeros(())
        return -(self.log_probs(raw) * target[:, self.discrete_index]).sum()

    def condition_loss(self, raw: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the conditioned spans against the conditional vectors."""
        if not self.cond_blocks:
            return raw.new_zeros(())
        logp = self._log_softmax(raw[:, self.discrete_index])
        position = torch.searchsorted(self.discrete_index, self.cond_units)
        return -(logp[:, position] * cond).sum() / len(raw)


def draw_categories(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row from softmax(``logits``), vectorised by inverse CDF.

    Example:
        >>> draw_categories(np.array([[0.0, 50.0], [50.0, 0.0]]), np.random.default_rng(0)).tolist()
        [1, 0]
    """
    logits = np.asarray(logits, dtype=np.float32)
    if not np.isfinite(logits).all():
        logits = np.nan_to_num(logits, nan=0.0, posinf=1e30, neginf=-1e30)
    cumulative = np.exp(logits - logits.max(axis=1, keepdims=True)).cumsum(axis=1)
    u = rng.random(len(logits)) * cumulative[:, -1]
    return np.minimum((cumulative < u[:, None]).sum(axis=1), logits.shape[1] - 1)


class CondSampler:
    """Draws conditional vectors; at fit time also real rows that match them.

    Only the category counts of the conditionable blocks are kept for sampling (and saved).
    """

    def __init__(self, layout: Layout, counts: dict[int, np.ndarray]) -> None:
        self.layout = layout
        self.counts = counts
        self.codes: dict[int, np.ndarray] = {}
        self.groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.n_rows = 0

    @classmethod
    def from_training(cls, encoded: np.ndarray, blocks: list[Block], layout: Layout) -> CondSampler:
        """Count categories and index the training rows by category."""
        out = cls(layout, {})
        out.n_rows = len(encoded)
        for j in layout.cond_blocks:
            codes = np.clip(encoded[:, j].astype(np.int64), 0, blocks[j].size - 1)
            counts = np.bincount(codes, minlength=blocks[j].size)
            order = np.argsort(codes, kind="stable")
            starts = np.concatenate([[0], np.cumsum(counts)])
            out.codes[j], out.counts[j], out.groups[j] = codes, counts, (order, starts)
        return out

    def one_hot(self, blocks: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Conditional vectors for (block, code) pairs."""
        out = np.zeros((len(blocks), self.layout.cond_width), dtype=np.float32)
        if len(blocks) and self.layout.cond_width:
            offsets = np.array([self.layout.cond_offsets[int(b)] for b in blocks])
            out[np.arange(len(blocks)), offsets + codes] = 1.0
        return out

    def _draw(
        self, size: int, rng: np.random.Generator, log: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        chosen = rng.choice(self.layout.cond_blocks, size)
        codes = np.empty(size, dtype=np.int64)
        for j in np.unique(chosen):
            where = np.flatnonzero(chosen == j)
            counts = self.counts[int(j)].astype(float)
            weights = np.log1p(counts) if log else counts
            codes[where] = rng.choice(len(weights), len(where), p=weights / weights.sum())
        return chosen, codes

    def training_batch(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Conditional vectors (log-frequency categories) and indices of real rows matching them."""
        if not self.layout.cond_blocks:
            return np.zeros((size, 0), np.float32), rng.integers(0, self.n_rows, size)
        chosen, codes = self._draw(size, rng, log=True)
        rows = np.empty(size, dtype=np.int64)
        for j in np.unique(chosen):
            where = np.flatnonzero(chosen == j)
            order, starts = self.groups[int(j)]
            lo, hi = starts[codes[where]], starts[codes[where] + 1]
            rows[where] = order[lo + (rng.random(len(where)) * (hi - lo)).astype(np.int64)]
        return self.one_hot(chosen, codes), rows

    def from_rows(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Conditional vectors naming one random conditionable block's value in each row."""
        if not self.layout.cond_blocks:
            return np.zeros((len(rows), 0), np.float32)
        chosen = rng.choice(self.layout.cond_blocks, len(rows))
        codes = np.empty(len(rows), dtype=np.int64)
        for j in np.unique(chosen):
            where = np.flatnonzero(chosen == j)
            codes[where] = self.codes[int(j)][rows[where]]
        return self.one_hot(chosen, codes)

    def sampling(
        self, size: int, rng: np.random.Generator, fixed: tuple[int, int] | None = None
    ) -> np.ndarray:
        """Conditional vectors for generation: real frequencies, or one ``fixed`` (block, code)."""
        if fixed is not None:
            return self.one_hot(np.full(size, fixed[0]), np.full(size, fixed[1]))
        if not self.layout.cond_blocks:
            return np.zeros((size, 0), np.float32)
        return self.one_hot(*self._draw(size, rng, log=False))
