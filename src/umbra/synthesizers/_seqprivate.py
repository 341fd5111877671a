"""Differential privacy for the ``sequence`` model, with the entity as the unit of privacy.

With ``epsilon``, a fit spends, by basic composition, ``CONTEXT_SHARE`` of the budget on the
context model (``ar`` under DP-SGD, one row per entity, learning any undeclared context domain
under DP itself) and the rest on the event network, trained with DP-SGD where each Poisson
sample draws entities and each entity's gradient (all its events) is clipped and noised.

Nothing about the events is read from the data: the event columns' domains must be declared,
``max_length`` must be given (longer entities are cut there before training), the index needs
declared bounds, and the time since the previous event is encoded as ``log1p(gap)`` on a public
grid from 0 to the log of the index's span, so that minutes and months both get bins.

Example:
    >>> budgets(1.0, 1e-6, has_context=True)
    ((0.25, 5e-07), (0.75, 5e-07))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from umbra.exceptions import InputError
from umbra.metadata.spec import ColumnSpec, Metadata
from umbra.privacy.accounting import check_budget
from umbra.privacy.domain import conform, needs_discovery
from umbra.synthesizers._nn.dpsgd import train_private
from umbra.synthesizers._nn.seqnet import SequenceNet
from umbra.synthesizers._nn.seqtrain import Batches, pad_batch
from umbra.synthesizers._private import PrivatePlan
from umbra.synthesizers._seqdata import GAP, LogParts, sequence_of
from umbra.transforms.numeric import DatetimeEncoder

CONTEXT_SHARE = 0.25
FREE = ("public", "dp")  # bounds that cost nothing more: declared, or already paid for


def budgets(
    epsilon: float, delta: float, has_context: bool
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(epsilon, delta) of the context model and of the event network."""
    if not has_context:
        return (0.0, 0.0), (epsilon, delta)
    return (CONTEXT_SHARE * epsilon, delta / 2), ((1 - CONTEXT_SHARE) * epsilon, delta / 2)


def check_private_log(
    model: Any, meta: Metadata, parts: tuple[Metadata, Metadata], n_entities: int
) -> int:
    """Raise :class:`InputError` for what a DP fit would have to read from the data (before
    anything is booked or learned); return ``max_length``. ``parts``: the entity and event
    metadata."""
    entity_meta, event_meta = parts
    check_budget(model.epsilon, model.delta, n_entities, units="entities")
    if model.max_length is None:
        raise InputError(
            "max_length must be set under differential privacy: the longest real entity's "
            "length would read the data. Pass the most events an entity may have, e.g. "
            "max_length=50 (longer entities are cut there)."
        )
    free = [c for c in needs_discovery(event_meta) if c != GAP]
    if free:
        raise InputError(
            f"event column(s) {free} have no declared domain; under differential privacy the "
            "sequence model needs the categories or bounds of every event column declared, "
            "e.g. metadata.update(column, categories=[...]) or bounds=(low, high)"
        )
    seq = sequence_of(meta)
    index = meta[seq.index] if seq.index is not None else None
    if index is not None and (index.bounds is None or index.bounds_source not in FREE):
        raise InputError(
            f"the sequence index {seq.index!r} needs declared bounds under differential "
            f"privacy (its first and last possible time): metadata.update({seq.index!r}, "
            "bounds=(first, last)), or in the metadata JSON its bounds with "
            'bounds_source "public"'
        )
    needs_discovery(entity_meta)  # context dates without declared bounds are refused here
    return int(model.max_length)


def private_gap(meta: Metadata, event_meta: Metadata) -> Metadata:
    """The event metadata with the gap as ``log1p`` of the index step, on public bounds."""
    spec = meta[sequence_of(meta).index]
    if spec.kind == "datetime":
        bounds = DatetimeEncoder(spec, "i").declared_bounds()
    else:
        bounds = [float(b) for b in spec.bounds] if spec.bounds is not None else None
    assert bounds is not None  # check_private_log asked for them
    top = math.log1p(max(bounds[1] - bounds[0], 0.0))
    gap = ColumnSpec(
        GAP, "numerical", "float64", nullable=True, bounds=(0.0, top), bounds_source="public"
    )
    return Metadata([s if s.name != GAP else gap for s in event_meta])


def private_events(
    parts: LogParts, event_meta: Metadata, max_length: int, rng: np.random.Generator
) -> LogParts:
    """Entities cut at ``max_length`` events, gaps as ``log1p``, values made to fit the public
    domain (:func:`umbra.privacy.domain.conform`)."""
    position = np.arange(len(parts.events)) - np.repeat(
        np.r_[0, np.cumsum(parts.lengths)[:-1]], parts.lengths
    )
    events = parts.events[position < max_length].reset_index(drop=True)
    if GAP in events.columns:
        events[GAP] = np.log1p(events[GAP].to_numpy(dtype=float).clip(min=0.0))
    events = conform(events, event_meta, rng)
    return LogParts(parts.entities, events, np.minimum(parts.lengths, max_length))


def context_params(model: Any, epsilon: float, delta: float) -> dict[str, Any]:
    """Settings of the context model under DP: its share of the budget, the sequence
    model's DP options, as many entities per sample as the event network draws."""
    return {
        "epsilon": epsilon, "delta": delta, "max_grad_norm": model.max_grad_norm,
        "preprocessing_share": model.preprocessing_share, "secure_noise": model.secure_noise,
        "epochs": model.epochs, "batch_size": entities_per_sample(model),
        "learning_rate": model.learning_rate,
    }  # fmt: skip


def entities_per_sample(model: Any) -> int:
    """``batch_size`` padded steps of entities of the longest allowed length."""
    return max(1, int(model.batch_size) // (int(model.max_length) + 1))


class _EntityLoss(nn.Module):
    """The event network's loss of one entity (what DP-SGD differentiates, entity by entity)."""

    def __init__(self, net: SequenceNet) -> None:
        super().__init__()
        self.net = net

    def forward(
        self, context: torch.Tensor, events: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        return self.net.entity_loss(context, events, lengths)


@dataclass
class _Run:
    """What :func:`train_private` reads of a model, for the event network's share."""

    epochs: int
    batch_size: int
    learning_rate: float
    max_grad_norm: float
    secure_noise: bool
    verbose: bool
    name: str
    _plan: PrivatePlan
    loss_history_: pd.DataFrame | None = None
    best_epoch_: int = 0
    privacy_spent_: dict[str, Any] | None = None


def train_events(
    model: Any, net: SequenceNet, batches: Batches, budget: tuple[float, float], rng: Any
) -> dict[str, Any]:
    """Train ``net`` with DP-SGD over entities; leave the history on ``model``; return the
    event network's ``privacy_spent_`` record."""
    plan = PrivatePlan(budget[0], budget[1], sgd=budget)
    run = _Run(
        int(model.epochs), entities_per_sample(model), float(model.learning_rate),
        float(model.max_grad_norm), bool(model.secure_noise), bool(model.verbose), model.name,
        plan,
    )  # fmt: skip

    def inputs(ids: torch.Tensor, _: np.random.Generator) -> tuple[torch.Tensor, ...]:
        chosen = ids.numpy()
        context = torch.from_numpy(batches.context[chosen])
        if not len(chosen):  # an empty Poisson sample: a step of noise only
            width = batches.tokens.shape[1] + 1
            return context, torch.zeros((0, 1, width), dtype=torch.long), torch.zeros(0).long()
        events, steps = pad_batch(batches.tokens, batches.starts, batches.lengths, chosen)
        return context, events, steps

    entities = torch.arange(len(batches.lengths))
    train_private(run, _EntityLoss(net), entities, inputs, rng)
    model.loss_history_, model.best_epoch_ = run.loss_history_, run.best_epoch_
    net.eval()
    assert run.privacy_spent_ is not None
    return run.privacy_spent_


def spent_record(model: Any, events: dict[str, Any]) -> dict[str, Any]:
    """The fit's ``privacy_spent_``: the context model's and the event network's parts."""
    context = getattr(model.context_, "privacy_spent_", None) or {}
    keys = ("epsilon", "sgd_epsilon", "preprocessing_epsilon", "noise_multiplier", "steps")
    return {
        "mechanism": "DP-SGD per entity (its context, then all its events)",
        "epsilon": model.epsilon, "delta": model.delta,
        "accountant": "Opacus RDP for each DP-SGD run; basic composition of the context "
        "model (its domain included) and the event network",
        "unit": "entity", "max_length": int(model.max_length_),
        "learned_under_dp": list(context.get("learned_under_dp", [])),
        **{f"context_{k}": context[k] for k in keys if k in context},
        **{f"events_{k}": events[k] for k in (*keys[:2], *keys[3:], "empty_steps")},
    }  # fmt: skip
