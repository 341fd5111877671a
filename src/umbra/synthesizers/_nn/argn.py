"""The autoregressive network over token columns, and its vocabulary with rare-value protection.

Every encoded block is a column of tokens. Column ``j`` is predicted from the columns before it
in an order: their embeddings are summed (so the context of any subset of known columns is one
vector), normalised, passed through layers of column ``j``'s own and its own output head. Masks
choose which columns each target sees, so one pass trains every column, in the fixed order or in
a random one per row (which is what lets sampling start from any subset of known columns).

Example:
    >>> net = ARNet([3, 2], hidden=8, layers=1, dropout=0.0)
    >>> tokens = torch.tensor([[0, 1], [2, 0]])
    >>> loss = net.loss(tokens, order_mask(torch.tensor([[0, 1], [1, 0]])))
    >>> bool(loss > 0)
    True
    >>> vocab = Vocab.fit(np.array([[0], [0], [1]]), [3], threshold=2)
    >>> vocab.sizes, vocab.encode(np.array([[0], [1], [2]])).ravel().tolist()
    ([2], [0, 1, 1])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 (the usual name)


def order_mask(ranks: torch.Tensor) -> torch.Tensor:
    """``mask[b, j, k] = 1`` where column ``k`` comes before column ``j`` in row ``b``'s order.

    ``ranks[b, k]`` is column ``k``'s position in the order of row ``b``.
    """
    return (ranks[:, None, :] < ranks[:, :, None]).float()


class ARNet(nn.Module):
    """Summed embeddings of the known columns, then per-column layers and heads.

    Args:
        sizes: tokens per column.
        hidden: width of embeddings and layers.
        layers: hidden layers per column.
        dropout: dropout after each hidden layer (training only).
    """

    offsets: torch.Tensor

    def __init__(self, sizes: list[int], hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        columns = len(sizes)
        offsets = np.r_[0, np.cumsum(sizes)[:-1]] if sizes else np.zeros(0)
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.long))
        self.embed = nn.Embedding(max(sum(sizes), 1), hidden)
        nn.init.normal_(self.embed.weight, std=1.0 / math.sqrt(hidden))
        self.query = nn.Parameter(torch.zeros(columns, hidden))
        self.norm = nn.LayerNorm(hidden)
        bound = 1.0 / math.sqrt(hidden)
        self.weight = nn.Parameter(torch.empty(layers, columns, hidden, hidden))
        nn.init.uniform_(self.weight, -bound, bound)
        self.bias = nn.Parameter(torch.zeros(layers, columns, hidden))
        self.heads = nn.ModuleList(nn.Linear(hidden, size) for size in sizes)
        self.drop = nn.Dropout(dropout)

    def embeddings(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, C)`` tokens to ``(B, C, hidden)`` embeddings."""
        return self.embed(tokens + self.offsets)

    def embed_column(self, column: int, tokens: torch.Tensor) -> torch.Tensor:
        """``(B,)`` tokens of one column to their ``(B, hidden)`` embeddings."""
        return self.embed(tokens + self.offsets[column])

    def features(self, context: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """``(B, K, hidden)`` summed contexts for target ``columns`` to their last features."""
        x = F.relu(self.norm(context + self.query[columns]))
        for layer in range(self.weight.shape[0]):
            w, b = self.weight[layer, columns], self.bias[layer, columns]
            x = self.drop(F.relu(torch.bmm(x.transpose(0, 1), w).transpose(0, 1) + b))
        return x

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The mean loss (see :meth:`loss`), so that ``torch.func`` can take its gradients."""
        return self.loss(tokens, mask)

    def loss(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over rows of the summed cross-entropy of every column given its masked context."""
        context = torch.bmm(mask, self.embeddings(tokens))
        x = self.features(context, torch.arange(tokens.shape[1]))
        total = tokens.new_zeros((), dtype=torch.float32)
        # unbind, not x[:, j]: one gradient buffer for all columns instead of one per column
        for j, (head, part) in enumerate(zip(self.heads, x.unbind(dim=1), strict=True)):
            total = total + F.cross_entropy(head(part), tokens[:, j], reduction="sum")
        return total / max(len(tokens), 1)

    def logits(self, context: torch.Tensor, column: int) -> torch.Tensor:
        """Logits of ``column`` given the ``(B, hidden)`` summed context of the known columns."""
        x = F.layer_norm(
            context + self.query[column],
            self.norm.normalized_shape,
            self.norm.weight,
            self.norm.bias,
        ).relu_()
        for layer in range(self.weight.shape[0]):
            x = torch.addmm(self.bias[layer, column], x, self.weight[layer, column]).relu_()
        head = self.heads[column]
        assert isinstance(head, nn.Linear)
        return head(x)


@dataclass
class Vocab:
    """Codes of each block as tokens; codes seen in fewer than ``threshold`` rows share one.

    ``common[j]`` holds the code of each of block ``j``'s own tokens; after them comes the shared
    *rare* token (when the block has codes below the threshold), which decodes to one of
    ``rare[j]`` at random (uniformly, never by their real frequencies), so the model cannot
    learn any one rare value's rows. ``seen`` marks tokens with training rows: the others are
    never generated.
    """

    common: list[np.ndarray]
    rare: list[np.ndarray]
    seen: list[np.ndarray]
    widths: list[int]

    @property
    def sizes(self) -> list[int]:
        """Tokens per block."""
        return [len(s) for s in self.seen]

    @classmethod
    def fit(cls, codes: np.ndarray, sizes: list[int], threshold: int) -> Vocab:
        """Learn the tokens of integer ``codes`` (rows x blocks) with ``sizes`` codes each."""
        common, rare, seen = [], [], []
        for j, size in enumerate(sizes):
            counts = np.bincount(codes[:, j], minlength=size)[:size]
            keep = counts >= max(threshold, 1)
            common.append(np.flatnonzero(keep).astype(np.int64))
            rare.append(np.flatnonzero(~keep & (counts > 0)).astype(np.int64))
            flags = [True] * int(keep.sum()) + ([len(rare[-1]) > 0] if (~keep).any() else [])
            seen.append(np.asarray(flags, dtype=bool))
        return cls(common, rare, seen, list(sizes))

    @classmethod
    def identity(cls, sizes: list[int]) -> Vocab:
        """One token per code, every one generated: no statistic of the data decides it."""
        return cls(
            [np.arange(size, dtype=np.int64) for size in sizes],
            [np.zeros(0, dtype=np.int64) for _ in sizes],
            [np.ones(size, dtype=bool) for size in sizes],
            list(sizes),
        )

    def token_of(self, j: int) -> np.ndarray:
        """Block ``j``'s code -> token table."""
        table = np.full(self.widths[j], len(self.common[j]), dtype=np.int64)
        table[self.common[j]] = np.arange(len(self.common[j]))
        return table

    def encode(self, codes: np.ndarray) -> np.ndarray:
        """Codes (rows x blocks) to tokens."""
        out = np.empty(codes.shape, dtype=np.int64)
        for j in range(len(self.common)):
            out[:, j] = self.token_of(j)[codes[:, j]]
        return out

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Tokens to codes; the rare token becomes one of its codes, drawn uniformly."""
        out = np.zeros(tokens.shape, dtype=np.int64)
        for j, common in enumerate(self.common):
            column = tokens[:, j]
            own = column < len(common)
            out[own, j] = common[column[own]]
            if (~own).any() and len(self.rare[j]):
                out[~own, j] = rng.choice(self.rare[j], size=int((~own).sum()))
        return out

    def state(self) -> dict[str, Any]:
        """Arrays for persistence."""
        return {"common": self.common, "rare": self.rare, "seen": self.seen, "widths": self.widths}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Vocab:
        """Rebuild from :meth:`state`."""
        return cls(
            [np.asarray(a, dtype=np.int64).ravel() for a in state["common"]],
            [np.asarray(a, dtype=np.int64).ravel() for a in state["rare"]],
            [np.asarray(a, dtype=bool).ravel() for a in state["seen"]],
            [int(w) for w in state["widths"]],
        )
