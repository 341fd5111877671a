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
        positions: the most steps to give a learned embedding of their position, added to the
            GRU's output (0: none); under DP it lets the end flag learn the lengths directly.
    """

    offsets: torch.Tensor
    causal: torch.Tensor

    def __init__(
        self, context_sizes: list[int], event_sizes: list[int], hidden: int, layers: int,
        dropout: float, positions: int = 0,
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
        self.position = nn.Embedding(positions, hidden) if positions else None
        if self.position is not None:
            nn.init.zeros_(self.position.weight)

    def placed(self, out: torch.Tensor, first: int = 0) -> torch.Tensor:
        """GRU outputs ``(B, T, hidden)`` of steps ``first, first + 1, ...`` with their
        position embeddings added (the last one for steps past it)."""
        if self.position is None:
            return out
        last = self.position.num_embeddings - 1
        return out + self.position(torch.arange(first, first + out.shape[1]).clamp(max=last))

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
        return self.placed(out)

    def loss(
        self, context: torch.Tensor, events: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, int]:
        """Summed cross-entropy of ``events`` ``(B, T, columns)`` and the number of terms.

        ``lengths`` counts each entity's steps, its end step included.
        """
        steps = events.shape[1]
        valid = torch.arange(steps)[None, :] < lengths[:, None]
        total, weight = self._token_loss(self.states(context, events)[valid], events[valid])
        return total, int(weight.sum().item())

    def entity_loss(
        self, context: torch.Tensor, events: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Cross-entropy per term of ``events``, with padding masked out rather than dropped
        and the GRU unrolled by hand (:func:`gru_steps`): what ``torch.func.vmap`` can run, one
        entity at a time, for DP-SGD."""
        batch, steps = events.shape[:2]
        embedded = self.events.embeddings(events.reshape(batch * steps, -1)).sum(dim=1)
        inputs = torch.cat(
            [self.begin.expand(batch, 1, -1), embedded.reshape(batch, steps, -1)[:, :-1]], dim=1
        )
        state = self.placed(gru_steps(self.rnn, self.drop(inputs), self.initial(context)[0]))
        valid = (torch.arange(steps)[None, :] < lengths[:, None]).reshape(-1, 1)
        tokens = events.reshape(batch * steps, -1)
        total, weight = self._token_loss(state.reshape(batch * steps, -1), tokens, valid)
        return total / weight.sum().clamp(min=1.0)

    def _token_loss(
        self, state: torch.Tensor, tokens: torch.Tensor, valid: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed cross-entropy of event steps ``tokens`` ``(N, columns)`` given the GRU's
        ``state`` ``(N, hidden)``, and the weight of each term (after the end flag, and on
        steps not ``valid``, nothing is trained)."""
        columns = tokens.shape[1]
        mixed = torch.matmul(self.causal, self.events.embeddings(tokens)) + state[:, None, :]
        features = self.events.features(mixed, torch.arange(columns))
        going = (tokens[:, :1] == 0).float().expand(-1, columns - 1)
        weight = torch.cat([torch.ones_like(going[:, :1]), going], dim=1)
        if valid is not None:
            weight = weight * valid.float()
        total = features.new_zeros(())
        for j, (head, part) in enumerate(
            zip(self.events.heads, features.unbind(dim=1), strict=True)
        ):
            loss = F.cross_entropy(head(part), tokens[:, j], reduction="none")
            total = total + (loss * weight[:, j]).sum()
        return total, weight


def gru_steps(rnn: nn.GRU, inputs: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """The outputs ``(B, T, hidden)`` of a one-layer ``rnn`` from ``first`` ``(B, hidden)``,
    step by step with its own weights (``nn.GRU``'s fused kernel has no ``vmap`` rule).

    Example:
        >>> rnn = nn.GRU(4, 3, batch_first=True)
        >>> x, h = torch.randn(2, 5, 4), torch.randn(2, 3)
        >>> bool(torch.allclose(gru_steps(rnn, x, h), rnn(x, h[None])[0], atol=1e-6))
        True
    """
    weight_in, weight_own, bias_in, bias_own = rnn.all_weights[0]  # (read at call time)
    given = F.linear(inputs, weight_in, bias_in)
    state, outputs = first, []
    for t in range(inputs.shape[1]):
        own = F.linear(state, weight_own, bias_own)
        reset_in, update_in, new_in = given[:, t].chunk(3, dim=-1)
        reset_own, update_own, new_own = own.chunk(3, dim=-1)
        reset = torch.sigmoid(reset_in + reset_own)
        update = torch.sigmoid(update_in + update_own)
        new = torch.tanh(new_in + reset * new_own)
        state = (1 - update) * new + update * state
        outputs.append(state)
    return torch.stack(outputs, dim=1)
