"""A tabular variational autoencoder over the same encoding as the GAN, written from the paper.

The encoder maps a row (and a conditional vector) to a Gaussian over a latent space; the decoder
maps a latent draw (and the vector) back to a row: offsets with a learned noise scale per unit,
categories as logits. Training maximises the evidence lower bound. The conditional vector names
one random discrete value of the row during training, so at sampling time any category, rare ones
included, can be asked for.

With ``epsilon``, training is DP-SGD (:mod:`umbra.synthesizers._nn.dpsgd`): each row's gradient
of the whole loss (encoder and decoder) is clipped and noised; the decoder that is kept is
post-processing. Numbers then take a uniform grid of ``n_bins`` on their public bounds, every
token is kept, and there is no conditional vector (its sampling frequencies would read the data).

Example:
    >>> import pandas as pd, umbra
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(["a", "b"], 600)})
    >>> meta = umbra.Metadata.detect(df, warn=False)
    >>> meta.update("x", bounds=(-5, 5)).update("c", categories=["a", "b"])
    Metadata('x': numerical, 'c': categorical)
    >>> vae = TVAE(epochs=3, random_state=0).fit(df, metadata=meta)
    >>> vae.sample(4, conditions={"c": "a"})["c"].tolist()
    ['a', 'a', 'a', 'a']
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from umbra._random import RandomState
from umbra.synthesizers._nn.dpsgd import check_private_params, train_private
from umbra.synthesizers._nn.layout import Layout
from umbra.synthesizers._nn.model import NeuralSynthesizer
from umbra.synthesizers._nn.training import check_positive
from umbra.synthesizers._private import DPSGDHooks
from umbra.synthesizers.registry import register


def mlp(width_in: int, hidden: int, layers: int) -> list[nn.Module]:
    """Linear + ReLU layers."""
    modules: list[nn.Module] = []
    for _ in range(layers):
        modules += [nn.Linear(width_in, hidden), nn.ReLU()]
        width_in = hidden
    return modules


class Decoder(nn.Module):
    """Latent draw and conditional vector to raw output units, with a noise scale per unit."""

    def __init__(self, latent: int, cond: int, hidden: int, layers: int, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(*mlp(latent + cond, hidden, layers), nn.Linear(hidden, width))
        self.log_sigma = nn.Parameter(torch.full((width,), float(np.log(0.1))))
        self.latent = latent

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Encoder(nn.Module):
    """Row and conditional vector to the mean and log-variance of the latent Gaussian."""

    def __init__(self, width: int, hidden: int, layers: int, latent: int) -> None:
        super().__init__()
        self.net = nn.Sequential(*mlp(width, hidden, layers))
        self.mean = nn.Linear(hidden, latent)
        self.log_var = nn.Linear(hidden, latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x)
        return self.mean(h), self.log_var(h)


@register
class TVAE(DPSGDHooks, NeuralSynthesizer):
    """Tabular VAE with a conditional vector.

    Args:
        epochs: the most passes over the data (early stopping may end sooner).
        batch_size: rows per step (clamped to the table).
        latent_dim: size of the latent space.
        hidden: units per hidden layer of encoder and decoder.
        layers: hidden layers of encoder and decoder.
        learning_rate: Adam's step size.
        loss_factor: weight of the reconstruction against the KL term.
        early_stopping: ``"loss"`` (the loss on held-out rows stops improving), ``"fidelity"``
            (generated vs held-out rows) or ``None``.
        patience: epochs without improvement before stopping.
        rare_threshold: codes seen in fewer training rows share one token (decoded to one of
            them at random), so no rare value's rows can be learned; 0 or 1 switches it off.
        epsilon: train with DP-SGD to (epsilon, delta)-differential privacy (None: no DP).
        delta: the DP delta; below 1/n.
        max_grad_norm: the bound each row's gradient is clipped to under DP.
        preprocessing_share: the part of epsilon spent learning an undeclared domain.
        secure_noise: draw DP noise and samples from the operating system's generator.
        n_bins: bins per number under DP (on its public bounds).
        verbose: show a progress bar with the losses.
        random_state: seed for training and sampling.
    """

    name = "tvae"

    def __init__(
        self,
        *,
        epochs: int = 100,
        batch_size: int = 1000,
        latent_dim: int = 128,
        hidden: int = 128,
        layers: int = 2,
        learning_rate: float = 2e-3,
        loss_factor: float = 2.0,
        early_stopping: str | None = "loss",
        patience: int = 20,
        rare_threshold: int = 10,
        epsilon: float | None = None,
        delta: float = 1e-9,
        max_grad_norm: float = 1.0,
        preprocessing_share: float = 0.3,
        secure_noise: bool = False,
        n_bins: int = 32,
        verbose: bool = False,
        random_state: RandomState = None,
    ) -> None:
        super().__init__(
            rare_threshold=rare_threshold,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            early_stopping=early_stopping,
            patience=patience,
            verbose=verbose,
            random_state=random_state,
        )
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.layers = layers
        self.loss_factor = loss_factor
        self.epsilon, self.delta, self.max_grad_norm = epsilon, delta, max_grad_norm
        self.preprocessing_share, self.secure_noise, self.n_bins = (
            preprocessing_share,
            secure_noise,
            n_bins,
        )

    def _check_params(self) -> None:
        super()._check_params()
        check_positive(
            self, ("latent_dim", "hidden", "layers", "n_bins"), ("learning_rate", "loss_factor")
        )
        check_private_params(self)

    def _train_private(self, rows: torch.Tensor, rng: np.random.Generator) -> None:
        train_private(self, _RowLoss(self), rows, lambda batch, _: (batch,), rng)

    def _build_generator(self, layout: Layout) -> nn.Module:
        return Decoder(self.latent_dim, layout.cond_width, self.hidden, self.layers, layout.width)

    def _build_training(self, layout: Layout, batch: int) -> dict[str, nn.Module]:
        width = layout.width + layout.cond_width
        return {"encoder": Encoder(width, self.hidden, self.layers, self.latent_dim)}

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = [p for net in self.nets_.values() for p in net.parameters()]
        return {
            "all": torch.optim.Adam(params, lr=self.learning_rate, weight_decay=1e-5, foreach=True)
        }

    def _losses(self, rows: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction and KL terms, summed over the batch."""
        decoder, encoder = self.nets_["generator"], self.nets_["encoder"]
        mean, log_var = encoder(torch.cat([rows, cond], dim=1))
        latent = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        raw = decoder(torch.cat([latent, cond], dim=1))
        recon = self.layout_.cross_entropy(raw, rows)
        sigma = self._sigma()[self.layout_.value_index]
        index = self.layout_.value_index
        error = (rows[:, index] - torch.tanh(raw[:, index])) ** 2 / (2 * sigma**2)
        recon = recon + error.sum() + len(rows) * torch.log(sigma).sum()
        kl = -0.5 * torch.sum(1 + log_var - mean**2 - log_var.exp())
        return recon * self.loss_factor, kl

    def _train_epoch(
        self, data: torch.Tensor, batch: int, rng: np.random.Generator
    ) -> dict[str, float]:
        optimizer = self.optimizers_["all"]
        order = rng.permutation(len(data))
        totals = np.zeros(2)
        steps = max(1, len(data) // batch)
        for step in range(steps):
            rows = order[step * batch : (step + 1) * batch]
            cond = torch.from_numpy(self.cond_.from_rows(rows, rng))
            recon, kl = self._losses(data[torch.from_numpy(rows)], cond)
            loss = (recon + kl) / len(rows)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            totals += [recon.item() / len(rows), kl.item() / len(rows)]
        recon_mean, kl_mean = totals / steps
        return {"loss": recon_mean + kl_mean, "reconstruction": recon_mean, "kl": kl_mean}

    def _validation_loss(self, data: torch.Tensor, cond: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():
            recon, kl = self._losses(data, cond)
        return {"validation_loss": float(recon + kl) / max(len(data), 1)}

    def _sigma(self) -> torch.Tensor:
        decoder = self.nets_["generator"]
        assert isinstance(decoder, Decoder)
        return torch.exp(decoder.log_sigma).clamp(0.01, 1.0)

    def _generate(self, cond: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        decoder = self.nets_["generator"]
        latent = torch.randn(len(cond), self.latent_dim)
        raw = decoder(torch.cat([latent, cond], dim=1))
        sigma = self._sigma()
        values = torch.tanh(raw)
        index = self.layout_.value_index
        noise = torch.randn(len(raw), len(index)) * sigma[index]
        values[:, index] = (values[:, index] + noise).clamp(-1.0, 1.0)
        return values.numpy(), raw.numpy()


class _RowLoss(nn.Module):
    """The VAE's loss as a module of its encoder and decoder (what DP-SGD differentiates)."""

    def __init__(self, vae: TVAE) -> None:
        super().__init__()
        self.encoder, self.decoder = vae.nets_["encoder"], vae.nets_["generator"]
        self.vae = [vae]  # a list: the synthesizer is not a submodule

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        recon, kl = self.vae[0]._losses(rows, rows.new_zeros((len(rows), 0)))
        return (recon + kl) / len(rows)
