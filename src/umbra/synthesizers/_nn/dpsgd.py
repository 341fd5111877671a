"""DP-SGD (Abadi et al. 2016) for Umbra's networks, accounted with Opacus' RDP accountant.

Every step draws a Poisson sample (each record independently, with rate ``q``), computes each
record's gradient (``torch.func``: ``vmap`` of ``grad``, in chunks), clips it to
``max_grad_norm``, sums, adds Gaussian noise of deviation ``noise_multiplier * max_grad_norm``
and divides by the expected batch size ``q * n``. An empty sample is a step too: only noise,
counted in ``empty_steps``. The noise multiplier is found by bisection on Opacus' accountant
(all steps, composed with any statistic released before them) and always ends on one whose
accounted epsilon is within the target.

Example:
    >>> sigma = noise_for(1.0, 1e-6, sample_rate=0.01, steps=100)
    >>> accounted(sigma, 0.01, 100, 1e-6) <= 1.0
    True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from umbra.exceptions import InputError
from umbra.privacy.accounting import check_budget

CHUNK = 256
EMA_DECAY = 0.998
# Orders of Renyi DP searched by the accountant: Opacus' defaults and larger ones, which the
# small epsilons of synthetic data need.
ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [80, 128, 256, 512, 1024]


Mechanism = tuple[float, float, int]  # (noise multiplier, sample rate, steps)


def accounted(
    noise: float, sample_rate: float, steps: int, delta: float, released: Sequence[Mechanism] = ()
) -> float:
    """The epsilon Opacus' RDP accountant gives for ``steps`` steps at this noise and rate,
    composed with the ``released`` Gaussian mechanisms (a rate of 1: a statistic of all rows).
    """
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = [(noise, sample_rate, steps), *released]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the")
        return float(accountant.get_epsilon(delta=delta, alphas=ALPHAS))


def noise_for(
    epsilon: float, delta: float, sample_rate: float, steps: int, released: Sequence[Mechanism] = ()
) -> float:
    """The noise multiplier (within 0.5% of the smallest) that keeps ``steps`` Poisson-sampled
    steps, with the ``released`` mechanisms, within (epsilon, delta): bisection on the
    accountant, always ending on a noise it accepts."""

    def spent(noise: float) -> float:
        return accounted(noise, sample_rate, steps, delta, released)

    low, high = 0.0, 1.0
    while spent(high) > epsilon:
        if high > 1e6:
            raise InputError(
                f"epsilon {epsilon:g} is too small for {steps} steps at sample rate "
                f"{sample_rate:g} (and the statistics released with them): raise epsilon or "
                "lower epochs"
            )
        low, high = high, 2 * high
    while high - low > 0.005 * high:
        middle = (low + high) / 2
        low, high = (middle, high) if spent(middle) > epsilon else (low, middle)
    return high


@dataclass
class DPSGD:
    """One DP-SGD run: ``n`` records, ``steps`` steps at ``sample_rate``, ``noise`` multiplier."""

    n: int
    sample_rate: float
    steps: int
    noise: float
    max_grad_norm: float
    secure: bool = False
    empty_steps: int = 0
    released: list[Mechanism] = field(default_factory=list)

    @classmethod
    def plan(
        cls,
        n: int,
        batch_size: int,
        epochs: int,
        budget: tuple[float, float],
        clip: float,
        reserve: float = 0.0,
    ) -> DPSGD:
        """Rate ``batch_size / n``, ``epochs`` passes' worth of steps, the noise they need;
        with ``reserve``, first a Gaussian release of that share of ``budget`` (alone), and
        steps noised so that the two compose within it."""
        epsilon, delta = budget
        rate = min(1.0, batch_size / n)
        steps = max(1, math.ceil(epochs / rate))
        released = [(noise_for(reserve * epsilon, delta, 1.0, 1), 1.0, 1)] if reserve else []
        noise = noise_for(epsilon, delta, rate, steps, released)
        return cls(n, rate, steps, noise, clip, released=released)

    def batch(self, rng: np.random.Generator) -> np.ndarray:
        """The records of one Poisson sample (possibly none); drawn from the operating
        system's generator with ``secure``, since a predictable sample weakens the guarantee."""
        if self.secure:
            return np.flatnonzero(secure_uniform(self.n) < self.sample_rate)
        return np.flatnonzero(rng.random(self.n) < self.sample_rate)

    def step(
        self, net: nn.Module, inputs: tuple[torch.Tensor, ...], optimizer: torch.optim.Optimizer
    ) -> None:
        """One noisy step on the sampled ``inputs`` (each tensor's first axis: the records);
        ``net(*inputs)`` is the mean loss of its records."""
        params = {k: p.detach() for k, p in net.named_parameters()}
        total = {k: torch.zeros_like(p) for k, p in params.items()}
        if not len(inputs[0]):
            self.empty_steps += 1
        for start in range(0, len(inputs[0]), CHUNK):
            chunk = tuple(x[start : start + CHUNK] for x in inputs)
            for key, value in self._clipped_sum(net, params, chunk).items():
                total[key] += value
        scale = self.noise * self.max_grad_norm
        expected = self.sample_rate * self.n
        for key, p in net.named_parameters():
            p.grad = (total[key] + self._noise(p.shape, scale)) / expected
        optimizer.step()

    def _clipped_sum(
        self, net: nn.Module, params: dict[str, torch.Tensor], chunk: tuple[torch.Tensor, ...]
    ) -> dict[str, torch.Tensor]:
        """The sum over ``chunk``'s records of their gradients, each clipped."""
        from torch.func import functional_call, grad, vmap

        buffers = dict(net.named_buffers())

        def one(p: dict[str, torch.Tensor], *row: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = functional_call(net, (p, buffers), tuple(x[None] for x in row))
            return out

        grads = vmap(grad(one), in_dims=(None, *([0] * len(chunk))), randomness="different")(
            params, *chunk
        )
        flat = torch.cat([g.reshape(len(chunk[0]), -1) for g in grads.values()], dim=1)
        factor = (self.max_grad_norm / (flat.norm(dim=1) + 1e-12)).clamp(max=1.0)
        return {k: torch.einsum("b,b...->...", factor, g) for k, g in grads.items()}

    def _noise(self, shape: torch.Size, scale: float) -> torch.Tensor:
        if not self.secure:
            return torch.normal(0.0, scale, size=shape)
        return torch.from_numpy(secure_normal(int(np.prod(shape)), scale)).reshape(shape)

    def epsilon(self, delta: float) -> float:
        """The epsilon of every step so far (planned steps; empty ones included)."""
        return accounted(self.noise, self.sample_rate, self.steps, delta, self.released)


def secure_uniform(size: int) -> np.ndarray:
    """Uniform numbers in [0, 1) from the operating system's cryptographic generator."""
    import os

    raw = np.frombuffer(os.urandom(8 * size), dtype=np.uint64)
    return (raw >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def secure_normal(size: int, scale: float) -> np.ndarray:
    """Gaussian noise from the operating system's cryptographic generator (Box-Muller).

    Example:
        >>> x = secure_normal(20_000, 2.0)
        >>> x.shape, bool(1.9 < x.std() < 2.1)
        ((20000,), True)
    """
    half = (size + 1) // 2
    u1, u2 = secure_uniform(half), secure_uniform(half)
    radius = np.sqrt(-2.0 * np.log1p(-u1))  # 1 - u1 lies in (0, 1]: no log(0)
    out = np.concatenate([radius * np.cos(2 * np.pi * u2), radius * np.sin(2 * np.pi * u2)])
    return (scale * out[:size]).astype(np.float32)


def check_private_params(model: Any) -> None:
    """Raise :class:`InputError` for a bad epsilon, delta, clipping bound or share."""
    if model.epsilon is None:
        return
    check_budget(model.epsilon, model.delta)
    clip = model.max_grad_norm
    if isinstance(clip, bool) or not isinstance(clip, int | float) or not 0 < clip < math.inf:
        raise InputError(f"max_grad_norm must be a positive number, received {clip!r}")
    share = model.preprocessing_share
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
        raise InputError(
            f"preprocessing_share must be a number strictly between 0 and 1, received {share!r}"
        )
    if not isinstance(model.secure_noise, bool):
        raise InputError(f"secure_noise must be True or False, received {model.secure_noise!r}")


def train_private(
    model: Any,
    net: nn.Module,
    rows: torch.Tensor,
    inputs: Callable[[torch.Tensor, np.random.Generator], tuple[torch.Tensor, ...]],
    rng: np.random.Generator,
    *,
    after: Callable[[], None] | None = None,
    kept: nn.Module | None = None,
    reserve: float = 0.0,
    before: Callable[[DPSGD], None] | None = None,
) -> None:
    """Train ``net`` with DP-SGD on ``rows`` (``net(*inputs(batch, rng))`` is the mean loss of
    a batch's rows), calling ``after`` once each step (a GAN's generator step, which reads no
    data); leave an average of its weights in ``kept`` (default ``net``); record
    ``model.privacy_spent_`` and a loss-free history (losses would read the data). With
    ``reserve``, ``before(run)`` first releases a statistic with ``run.released``'s noise."""
    delta = model._plan.sgd[1]
    epochs = int(model.epochs)
    size, clip = int(model.batch_size), model.max_grad_norm
    run = DPSGD.plan(len(rows), size, epochs, model._plan.sgd, clip, reserve)
    run.secure = bool(model.secure_noise)
    if before is not None:
        before(run)
    optimizer = torch.optim.Adam(net.parameters(), lr=float(model.learning_rate))
    params = list((kept or net).parameters())
    average = [p.detach().clone() for p in params]
    decay = min(EMA_DECAY, 1.0 - 1.0 / max(2, run.steps // epochs))
    net.train()
    with _EpsilonMonitor(model, run, delta) as monitor:
        for step in range(run.steps):
            batch = rows[torch.from_numpy(run.batch(rng))]
            run.step(net, inputs(batch, rng), optimizer)
            if after is not None:
                after()
            with torch.no_grad():
                torch._foreach_lerp_(average, [p.detach() for p in params], 1 - decay)
            monitor.step(step + 1)
    with torch.no_grad():
        for p, mean in zip(params, average, strict=True):
            p.copy_(mean)
    net.eval()
    (kept or net).eval()
    extra = {"noise_multiplier": run.noise, "sample_rate": run.sample_rate, "steps": run.steps,
             "empty_steps": run.empty_steps, "max_grad_norm": run.max_grad_norm,
             "secure_noise": run.secure,
             "released_noise_multipliers": [m[0] for m in run.released]}  # fmt: skip
    mechanism = "DP-SGD (Poisson sampling, per-row clipping, Gaussian noise)"
    model.privacy_spent_ = model._plan.spent(mechanism, run.epsilon(delta), extra)


class _EpsilonMonitor:
    """The progress of a DP-SGD run, one "epoch" per ``1 / sample_rate`` steps, showing the
    epsilon spent so far; leaves ``loss_history_`` and ``best_epoch_`` on the model."""

    def __init__(self, model: Any, run: DPSGD, delta: float) -> None:
        from umbra.synthesizers._nn.training import Monitor

        self.model, self.run, self.delta = model, run, delta
        self.epochs = int(model.epochs)
        self.per_epoch = math.ceil(run.steps / self.epochs)
        self.monitor = Monitor(
            epochs=self.epochs, early_stopping=None, patience=1, monitored="epsilon",
            verbose=model.verbose, label=model.name,
        )  # fmt: skip

    def __enter__(self) -> _EpsilonMonitor:
        self.monitor.__enter__()
        return self

    def step(self, done: int) -> None:
        if done % self.per_epoch == 0 or done == self.run.steps:
            run = self.run
            spent = accounted(run.noise, run.sample_rate, done, self.delta, run.released)
            epoch = math.ceil(done / self.per_epoch)
            self.monitor.end_epoch(epoch, {"epsilon": spent}, None, lambda: None)

    def __exit__(self, *exc: object) -> None:
        self.monitor.__exit__(*exc)
        if exc[0] is None:
            self.model.loss_history_ = self.monitor.finish(lambda state: None)
            self.model.best_epoch_ = self.epochs
