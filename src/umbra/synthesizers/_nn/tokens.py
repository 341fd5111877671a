"""Rare-value protection for the one-hot models: rare codes of each discrete block share a token.

``ctgan`` and ``tvae`` see every discrete block (categories, null status, mixture modes) through
a :class:`~umbra.synthesizers._nn.argn.Vocab`: codes seen in fewer than ``threshold`` training
rows become one shared token, which decodes to one of them drawn uniformly. The network can then
not learn any one rare value's rows, and a column with hundreds of rare levels (diagnosis codes)
costs one unit instead of hundreds, in the output and in the conditional vector.

Example:
    >>> from umbra.transforms.base import Block
    >>> blocks = [Block("x.value", "continuous", 1), Block("c.code", "discrete", 4)]
    >>> encoded = np.array([[0.1, 0], [0.2, 0], [0.3, 1], [0.4, 2]])
    >>> tokens = Tokens.fit(encoded, blocks, threshold=2)
    >>> [b.size for b in tokens.blocks]
    [1, 2]
    >>> tokens.encode(encoded)[:, 1].tolist()
    [0.0, 0.0, 1.0, 1.0]
    >>> rare = np.tile(tokens.encode(encoded)[2:], (50, 1))
    >>> sorted(set(tokens.decode(rare, np.random.default_rng(0))[:, 1].tolist()))
    [1.0, 2.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from umbra.synthesizers._nn.argn import Vocab
from umbra.transforms.base import Block


@dataclass
class Tokens:
    """The discrete blocks' vocabulary and the blocks the network sees."""

    vocab: Vocab
    discrete: list[int]
    blocks: list[Block]

    @classmethod
    def fit(cls, encoded: np.ndarray, blocks: list[Block], threshold: int) -> Tokens:
        """Learn the tokens of the discrete blocks of ``encoded`` (rows x blocks)."""
        discrete = [j for j, b in enumerate(blocks) if b.kind == "discrete"]
        codes = encoded[:, discrete].astype(np.int64)
        vocab = Vocab.fit(codes, [blocks[j].size for j in discrete], threshold)
        return cls(vocab, discrete, _token_blocks(blocks, discrete, vocab))

    @classmethod
    def identity(cls, blocks: list[Block]) -> Tokens:
        """One token per code, every one generated: no statistic of the data decides them."""
        discrete = [j for j, b in enumerate(blocks) if b.kind == "discrete"]
        vocab = Vocab.identity([blocks[j].size for j in discrete])
        return cls(vocab, discrete, _token_blocks(blocks, discrete, vocab))

    def encode(self, encoded: np.ndarray) -> np.ndarray:
        """Encoded rows with discrete codes replaced by tokens."""
        out = np.array(encoded, dtype=float, copy=True)
        out[:, self.discrete] = self.vocab.encode(encoded[:, self.discrete].astype(np.int64))
        return out

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Token rows back to codes; a rare token becomes one of its codes, drawn uniformly."""
        out = np.array(tokens, dtype=float, copy=True)
        out[:, self.discrete] = self.vocab.decode(tokens[:, self.discrete].astype(np.int64), rng)
        return out

    def token(self, block: int, code: int) -> int:
        """The token of ``code`` in ``block``."""
        return int(self.vocab.token_of(self.discrete.index(block))[code])

    def code(self, block: int, token: int) -> int | None:
        """The code of a block's own ``token``; None for the shared rare token."""
        common = self.vocab.common[self.discrete.index(block)]
        return int(common[token]) if token < len(common) else None

    def state(self) -> dict[str, Any]:
        """Arrays for persistence."""
        return self.vocab.state()

    @classmethod
    def from_state(cls, state: dict[str, Any], blocks: list[Block]) -> Tokens:
        """Rebuild from :meth:`state` and the transformer's blocks."""
        vocab = Vocab.from_state(state)
        discrete = [j for j, b in enumerate(blocks) if b.kind == "discrete"]
        return cls(vocab, discrete, _token_blocks(blocks, discrete, vocab))


def _token_blocks(blocks: list[Block], discrete: list[int], vocab: Vocab) -> list[Block]:
    out = list(blocks)
    for i, j in enumerate(discrete):
        out[j] = Block(blocks[j].name, "discrete", vocab.sizes[i])
    return out
