"""The learned image codec models: factorized prior, mean-scale hyperprior, checkerboard context.

All three share the variable-rate gain units, the transforms and the training interface:
``model(x, level)`` returns the reconstruction, the likelihoods of every latent and the
Lagrange multiplier of each sample's level. Coding (real bitstreams) is in
:mod:`convpress.models.coding`, built on the same modules.

- :class:`FactorizedPriorModel`: Ballé et al. 2017, latents coded with a per-channel learned density.
- :class:`HyperpriorModel` (``context=False``): mean-scale hyperprior, Minnen et al. 2018 without
  the serial context.
- :class:`HyperpriorModel` (``context=True``, the default model): a checkerboard context (He et al.
  2021) decoded in two parallel passes, with a depthwise spatial context mixed by a 1x1 convolution
  so the fixed-point entropy-parameter path stays cheap on CPU.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn

from convpress.models.entropy import FactorizedPrior, GaussianConditional, add_uniform_noise, round_ste
from convpress.models.gain import DEFAULT_LAMBDAS, GainUnits, retarget_log_gains
from convpress.models.layers import CheckerboardMaskedConv, anchor_mask
from convpress.models.transforms import analysis, hyper_analysis, hyper_synthesis, synthesis


class LearnedImageModel(nn.Module):
    """Common parts: transforms, gains, mixed-precision policy and the config for the weights file."""

    family: str = ""

    def __init__(self, widths: tuple[int, int, int], latent: int, lambdas: tuple[float, ...]) -> None:
        super().__init__()
        self.config: dict = {"family": self.family, "widths": list(widths), "latent": latent, "lambdas": list(lambdas)}
        self.g_a = analysis(3, widths, latent)
        self.g_s = synthesis(3, widths, latent)
        self.gain = GainUnits(latent, lambdas)
        self.transform_autocast = False
        """bf16 autocast for g_a and g_s during training (entropy models stay float32)."""
        self.rate_proxy = "noise"
        """What training measures the rate on: ``"noise"``, latents plus uniform noise (Ballé et al.),
        or ``"rounded"``, the rounded latents the coder will see (straight-through gradient)."""

    def _transform_context(self):
        if self.transform_autocast and self.training:
            return torch.autocast("cpu" if not torch.cuda.is_available() else "cuda", dtype=torch.bfloat16)
        return nullcontext()

    def analyze(self, x: torch.Tensor) -> torch.Tensor:
        with self._transform_context():
            return self.g_a(x).float()

    def synthesize(self, y: torch.Tensor) -> torch.Tensor:
        with self._transform_context():
            return self.g_s(y).float()

    @property
    def levels(self) -> int:
        return self.gain.levels

    @property
    def noisy_rate(self) -> bool:
        return self.training and self.rate_proxy == "noise"

    def channel_blocks(self) -> dict[str, dict[int, int]]:
        """Tensor dimensions that concatenate blocks of latent channels: {name: {dim: block count}}.

        Widening (:mod:`convpress.models.growth`) grows each block at its own end.
        """
        return {}

    def retarget_levels(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``state`` with its gain tables carried to this model's lambdas (more or other rates).

        Every rate the old weights covered is reproduced exactly (same gains at the same lambda);
        rates beyond them start from the extrapolated gains (:func:`retarget_log_gains`).
        """
        old = state.get("gain.lambdas")
        if old is None or (old.shape == self.gain.lambdas.shape and torch.equal(old, self.gain.lambdas)):
            return state
        retargeted = {name: retarget_log_gains(old, state[name], self.gain.lambdas)
                      for name in ("gain.log_encoder_gain", "gain.log_decoder_gain")}
        return {**state, **retargeted, "gain.lambdas": self.gain.lambdas.clone()}

    def quantize_proxy(self, x: torch.Tensor) -> torch.Tensor:
        """The values whose likelihood is the rate: noisy in "noise" training, else rounded (real codes)."""
        return add_uniform_noise(x) if self.noisy_rate else round_ste(x)


class FactorizedPriorModel(LearnedImageModel):
    family = "factorized"

    def __init__(self, widths=(64, 128, 128), latent: int = 192, lambdas=DEFAULT_LAMBDAS) -> None:
        super().__init__(tuple(widths), latent, tuple(lambdas))
        self.prior = FactorizedPrior(latent)

    def forward(self, x: torch.Tensor, level: torch.Tensor) -> dict:
        encoder_gain, decoder_gain = self.gain.gains(level)
        y = self.analyze(x) * encoder_gain
        y_likelihood = self.prior.likelihood(self.quantize_proxy(y))
        x_hat = self.synthesize(round_ste(y) * decoder_gain)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihood}, "lmbda": self.gain.lmbda(level)}


class HyperpriorModel(LearnedImageModel):
    family = "hyperprior"

    def __init__(
        self, widths=(64, 128, 128), latent: int = 192, hyper: int = 128, lambdas=DEFAULT_LAMBDAS, context: bool = True
    ) -> None:
        super().__init__(tuple(widths), latent, tuple(lambdas))
        self.config.update(hyper=hyper, context=context)
        self.h_a = hyper_analysis(latent, hyper)
        self.h_s = hyper_synthesis(latent, hyper)
        self.hyper_prior = FactorizedPrior(hyper)
        self.gaussian = GaussianConditional()
        self.context = (
            nn.Sequential(CheckerboardMaskedConv(latent, latent, 5, groups=latent), nn.Conv2d(latent, latent, 1))
            if context
            else None
        )
        parameters_in = (3 if context else 2) * latent
        hidden = 5 * latent // 3
        self.entropy_parameters = nn.Sequential(
            nn.Conv2d(parameters_in, hidden, 1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
            nn.Conv2d(hidden, 2 * latent, 1),
        )

    def forward(self, x: torch.Tensor, level: torch.Tensor) -> dict:
        encoder_gain, decoder_gain = self.gain.gains(level)
        y = self.analyze(x) * encoder_gain
        z_tilde = self.quantize_proxy(self.h_a(y))
        hyper = self.h_s(z_tilde)
        means, scales = self.gaussian_parameters(y, hyper)
        y_hat = round_ste(y - means) + means
        y_tilde = add_uniform_noise(y) if self.noisy_rate else y_hat
        y_likelihood = self.gaussian.likelihood(y_tilde, means, scales)
        x_hat = self.synthesize(y_hat * decoder_gain)
        likelihoods = {"y": y_likelihood, "z": self.hyper_prior.likelihood(z_tilde)}
        return {"x_hat": x_hat, "likelihoods": likelihoods, "lmbda": self.gain.lmbda(level)}

    def channel_blocks(self) -> dict[str, dict[int, int]]:
        """``[means, scales]`` outputs, and the entropy parameters' ``[hyper means, hyper scales, context]`` input."""
        parameters_in = 3 if self.context is not None else 2
        return {
            "h_s.4.weight": {0: 2}, "h_s.4.bias": {0: 2},
            "entropy_parameters.0.weight": {1: parameters_in},
            "entropy_parameters.4.weight": {0: 2}, "entropy_parameters.4.bias": {0: 2},
        }

    def gaussian_parameters(self, y: torch.Tensor, hyper: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Means and scales for every latent, anchors from the hyperprior, the rest with context."""
        if self.context is None:
            return self.entropy_parameters(hyper).chunk(2, dim=1)
        anchors = anchor_mask(y.shape[2], y.shape[3], y.device)
        no_context = torch.zeros_like(y)
        anchor_means, anchor_scales = self.entropy_parameters(torch.cat([hyper, no_context], 1)).chunk(2, dim=1)
        decoded_anchors = (round_ste(y - anchor_means) + anchor_means) * anchors
        context = self.context(decoded_anchors)
        means, scales = self.entropy_parameters(torch.cat([hyper, context], 1)).chunk(2, dim=1)
        return torch.where(anchors, anchor_means, means), torch.where(anchors, anchor_scales, scales)
