"""Training and generation for :class:`~umbra.synthesizers._nn.seqnet.SequenceNet`.

Events are kept flat (one row of tokens per event, entities one after another); a batch pads
only its own entities, which are of similar length (sorted by length with random ties), so
long and short sequences never share a padded batch.

Example:
    >>> tokens = np.array([[1], [2], [3]])  # entity 0: two events, entity 1: one
    >>> events, steps = pad_batch(tokens, np.array([0, 2]), np.array([2, 1]), np.array([0, 1]))
    >>> events[:, :, 0].tolist(), steps.tolist()  # the end flags
    ([[0, 0, 1], [0, 1, 0]], [3, 2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from umbra.synthesizers._nn.seqnet import SequenceNet

SAMPLE_BATCH = 2048


def pad_batch(
    tokens: np.ndarray, starts: np.ndarray, lengths: np.ndarray, ids: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """Entities ``ids`` as ``(B, T, 1 + columns)`` tokens (end flag first) and step counts."""
    length = lengths[ids]
    steps = int(length.max()) + 1
    position = np.arange(steps)[None, :]
    inside = position < length[:, None]
    rows = np.where(inside, starts[ids][:, None] + position, 0)
    events = np.where(inside[:, :, None], tokens[rows], 0)
    flag = (position == length[:, None]).astype(np.int64)
    out = np.concatenate([flag[:, :, None], events], axis=2)
    return torch.from_numpy(out), torch.from_numpy(length + 1)


@dataclass
class Batches:
    """The flat event tokens, the context tokens and lengths of every entity."""

    tokens: np.ndarray
    context: np.ndarray
    lengths: np.ndarray

    def __post_init__(self) -> None:
        self.starts = np.r_[0, np.cumsum(self.lengths)[:-1]].astype(np.int64)

    def loss(self, net: SequenceNet, ids: np.ndarray) -> tuple[torch.Tensor, int]:
        """Summed loss of entities ``ids`` and its number of terms."""
        events, steps = pad_batch(self.tokens, self.starts, self.lengths, ids)
        return net.loss(torch.from_numpy(self.context[ids]), events, steps)

    def epoch(self, ids: np.ndarray, size: int, rng: np.random.Generator) -> list[np.ndarray]:
        """Batches of entities of similar length, at most ``size`` padded steps each, shuffled."""
        order = ids[np.lexsort((rng.random(len(ids)), self.lengths[ids]))]
        chunks, begin = [], 0
        for end in range(1, len(order) + 1):
            padded = (end - begin) * (int(self.lengths[order[end - 1]]) + 1)
            if padded > size and end - begin > 1:
                chunks.append(order[begin : end - 1])
                begin = end - 1
        if begin < len(order):
            chunks.append(order[begin:])
        return [chunks[i] for i in rng.permutation(len(chunks))]

    def mean_loss(self, net: SequenceNet, ids: np.ndarray, size: int) -> float:
        """Loss per term of entities ``ids`` (no gradient)."""
        total, terms = 0.0, 0
        with torch.inference_mode():
            for start in range(0, len(ids), size):
                loss, count = self.loss(net, ids[start : start + size])
                total, terms = total + float(loss), terms + count
        return total / max(terms, 1)


def generate(
    net: SequenceNet,
    context: np.ndarray,
    seen: list[np.ndarray],
    max_length: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Flat event tokens (entities one after another), each entity's number of events, and
    how many entities were cut at ``max_length`` (they had not drawn the end there)."""
    tokens, lengths, cut = [], [], 0
    for start in range(0, len(context), SAMPLE_BATCH):
        part = torch.from_numpy(context[start : start + SAMPLE_BATCH])
        t, n, c = _generate_batch(net, part, seen, max_length, rng)
        tokens.append(t)
        lengths.append(n)
        cut += c
    if not tokens:
        return np.zeros((0, len(seen)), np.int64), np.zeros(0, np.int64), 0
    return np.concatenate(tokens), np.concatenate(lengths), cut


def _draw(logits: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    cdf = logits.sub_(logits.amax(dim=1, keepdim=True)).exp_().cumsum(dim=1)
    u = torch.from_numpy(rng.random((len(logits), 1), dtype=np.float32)).mul_(cdf[:, -1:])
    return torch.searchsorted(cdf, u).clamp_(max=cdf.shape[1] - 1)[:, 0]


def _generate_batch(
    net: SequenceNet,
    context: torch.Tensor,
    seen: list[np.ndarray],
    max_length: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, int]:
    size = len(context)
    masks = [torch.from_numpy(~s) for s in seen]
    steps: list[np.ndarray] = []
    lengths = np.full(size, max_length, dtype=np.int64)
    alive = np.ones(size, dtype=bool)
    cut = 0
    with torch.inference_mode():
        hidden = net.initial(context)
        step_in = net.begin.expand(size, -1)
        for t in range(max_length + 1):
            out, hidden = net.rnn(step_in[:, None, :], hidden)
            known = net.placed(out, t)[:, 0].clone()
            flag_logits = net.events.logits(known, 0)
            if t == 0:
                flag_logits[:, 1] = -torch.inf  # an entity has at least one event
            flag = _draw(flag_logits, rng)
            if t == max_length:  # the longest allowed: end here (a cut, where not drawn)
                cut += int((alive & (flag.numpy() == 0)).sum())
                flag = torch.ones_like(flag)
            ended = alive & (flag.numpy() == 1)
            lengths[ended] = t
            alive &= ~ended
            if not alive.any():
                break
            drawn = [flag]
            known += net.events.embed_column(0, flag)
            for j, mask in enumerate(masks, start=1):
                logits = net.events.logits(known, j)
                if mask.any():
                    logits[:, mask] = -torch.inf
                token = _draw(logits, rng)
                drawn.append(token)
                known += net.events.embed_column(j, token)
            step = torch.stack(drawn, dim=1)
            steps.append(step[:, 1:].numpy())
            step_in = net.step_input(step)
    return _flatten(steps, lengths, len(seen)), lengths, cut


def _flatten(steps: list[np.ndarray], lengths: np.ndarray, columns: int) -> np.ndarray:
    """Per-step token arrays ``(B, columns)`` to flat rows, entity by entity."""
    if not steps:
        return np.zeros((0, columns), np.int64)
    stacked = np.stack(steps, axis=1)  # (B, T, columns)
    inside = np.arange(stacked.shape[1])[None, :] < lengths[:, None]
    return stacked[inside]
