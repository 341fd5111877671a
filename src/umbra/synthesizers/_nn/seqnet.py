"""The network of the ``sequence`` model: a GRU over events, the autoregressive net within each.

An entity's context tokens (embedded and summed) set the GRU's first state. At each step the
GRU reads the previous event (its token embeddings, summed; a learned start vector at the first
step) and its output is added to the context of :class:`~umbra.synthesizers._nn.argn.ARNet`,
which predicts the event's columns one after another: first an *end* flag (stop here, or
another event follows), then the event columns in table order. At the step after the last
event only the flag is trained.

Example:
    >>> net = SequenceNet([3], [2, 4], hidden=8, layers=1, dropout=0.0)
    >>> events = torch.tensor([[[0, 1, 2], [0, 0, 3], [1, 0, 0]]])  # two events, then the end
    >>> bool(net.loss(torch.tensor([[2]]), events, torch.tensor([3]))[0] > 0)
    True
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 (the usual name)

from umbra.synthesizers._nn.argn import ARNet


class SequenceNet(nn.Module):
    """Context embedding, a GRU over events and an :class:`ARNet` over each event's columns.

    Args:
        context_sizes: tokens per context column.
        event_sizes: tokens per event column (the end flag is added in front).
        hidden: width of embeddings, GRU and layers.
        layers: hidden layers per column of the event net.
        dropout: dropout in the event net (training only).
    """

    offsets: torch.Tensor
    causal: torch.Tensor

    def __init__(
        self, context_sizes: list[int], event_sizes: list[int], hidden: int, layers: int,
        dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        offsets = np.r_[0, np.cumsum(context_sizes)[:-1]] if context_sizes else np.zeros(0)
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.long))
        self.context = nn.Embedding(max(sum(context_sizes), 1), hidden)
        nn.init.normal_(self.context.weight, std=1.0 / math.sqrt(hidden))
        self.first = nn.Linear(hidden, hidden)
        self.begin = nn.Parameter(torch.zeros(hidden))
        self.rnn = nn.GRU(hidden, hidden, batch_first=True)
        self.events = ARNet([2, *event_sizes], hidden, layers, dropout)
        columns = len(event_sizes) + 1
        self.register_buffer("causal", torch.ones(columns, columns).tril(-1))
        self.drop = nn.Dropout(dropout)

    def initial(self, context: torch.Tensor) -> torch.Tensor:
        """``(B, C)`` context tokens to the GRU's first state ``(1, B, hidden)``."""
        summed = self.context(context + self.offsets).sum(dim=1) if context.shape[1] else None
        if summed is None:
            summed = self.begin.new_zeros((len(context), self.begin.shape[0]))
        return torch.tanh(self.first(self.drop(summed))).unsqueeze(0)

    def step_input(self, event: torch.Tensor) -> torch.Tensor:
        """``(B, columns)`` tokens of one event (flag first) to the GRU's next input."""
        return self.events.embeddings(event).sum(dim=1)

    def states(self, context: torch.Tensor, events: torch.Tensor) -> torch.Tensor:
        """GRU outputs ``(B, T, hidden)``: step ``t`` has read the events before ``t``."""
        batch, steps = events.shape[:2]
        embedded = self.events.embeddings(events.reshape(batch * steps, -1)).sum(dim=1)
        inputs = torch.cat(
            [self.begin.expand(batch, 1, -1), embedded.reshape(batch, steps, -1)[:, :-1]], dim=1
        )
        out, _ = self.rnn(self.drop(inputs), self.initial(context))
        return out

    def loss(
        self, context: torch.Tensor, events: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, int]:
        """Summed cross-entropy of ``events`` ``(B, T, columns)`` and the number of terms.

        ``lengths`` counts each entity's steps, its end step included.
        """
        steps, columns = events.shape[1:]
        valid = torch.arange(steps)[None, :] < lengths[:, None]
        state = self.states(context, events)[valid]
        tokens = events[valid]
        mixed = torch.matmul(self.causal, self.events.embeddings(tokens)) + state[:, None, :]
        features = self.events.features(mixed, torch.arange(columns))
        weight = torch.ones_like(tokens, dtype=torch.float32)
        weight[:, 1:] = (tokens[:, :1] == 0).float()  # after the end flag nothing is trained
        total = features.new_zeros(())
        for j, (head, part) in enumerate(
            zip(self.events.heads, features.unbind(dim=1), strict=True)
        ):
            loss = F.cross_entropy(head(part), tokens[:, j], reduction="none")
            total = total + (loss * weight[:, j]).sum()
        return total, int(weight.sum().item())
