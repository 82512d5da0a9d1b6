"""Encoder-side refinement of one image's latents (Campos et al. 2019; Yang et al., NeurIPS 2020).

The analysis transform is amortized: one network guesses the latents of every image, and a
network trained for a few CPU-hours guesses less well than a converged one. The decoder only sees
the coded integers, so the encoder is free to look for better ones: gradient steps on this image's
own rate-distortion loss, through the frozen hyper-transforms, entropy model and synthesis, with
an annealed stochastic rounding (SGA, Yang et al.): plain straight-through rounding gained a third
as much here, and uniform noise for the rate made things worse. The stream format and the decoder
do not change.

It costs a forward and backward pass through the whole model per iteration, so it is an option
(``learned:refine=N``) for images that are encoded once and decoded often.
"""

from __future__ import annotations

import math

import torch
from tqdm import tqdm

from convpress.deadline import check_deadline
from convpress.errors import UnsupportedImageError
from convpress.evaluation.metrics import MS_SSIM_MIN_SIDE
from convpress.models.autoencoders import HyperpriorModel
from convpress.models.compression import HYPER_STRIDE, pad_to_multiple
from convpress.models.entropy import round_ste
from convpress.training.losses import rate_distortion_loss

REFINE_LEARNING_RATE = 5e-3
"""Adam's step on latents whose quantization step is 1 (cosine decay to 0). On a 256 px crop of
kodim04 at quality 50, 100 iterations: 1e-3 gave -3.7% bpp / +0.19 dB, 3e-3 -9.4% / +0.31 dB,
5e-3 -10.6% / +0.33 dB, 1e-2 -8.3% / +0.37 dB."""

CHECK_EVERY = 10
"""Steps between measurements of the true (rounded) loss, each a forward pass: ~3% of the cost."""

REFINE_MAX_PIXELS = 4_000_000
"""The whole image is one autograd graph (~1.5 kB a pixel); larger images are refused."""


def rate_distortion(
    model: HyperpriorModel, image: torch.Tensor, latents: torch.Tensor, level: float, size: tuple[int, int],
    temperature: float | None = None, generator: torch.Generator | None = None, metric: str = "mse",
) -> dict[str, torch.Tensor]:
    """The training objective (:func:`rate_distortion_loss`, ``metric``) of coding ``latents`` (gain applied) for ``image``.

    ``image`` is the padded image [1, 3, H', W'] in 0-1; only its top-left ``size`` (height, width)
    counts, as only it is decoded. Differentiable in ``latents``: through straight-through
    rounding, or through :func:`annealed_round` at ``temperature`` (random draws from ``generator``).
    """
    height, width = size
    level_tensor = torch.tensor([level])
    _, decoder_gain = model.gain.gains(level_tensor)
    latent_height, latent_width = latents.shape[2:]
    # As the coder does: h_a reads the latents extended by replication to whole hyper-latents; the
    # context and the coded latents cover only the image's own grid.
    z_hat = round_ste(model.h_a(pad_to_multiple(latents, HYPER_STRIDE)))
    hyper = model.h_s(z_hat)[:, :, :latent_height, :latent_width]
    means, scales = model.gaussian_parameters(latents, hyper)
    residual = latents - means
    y_hat = (round_ste(residual) if temperature is None else annealed_round(residual, temperature, generator)) + means
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the synthesis dominates the cost; ~2x faster
        x_hat = model.g_s(y_hat * decoder_gain)[:, :, :height, :width]
    output = {"x_hat": x_hat, "lmbda": model.gain.lmbda(level_tensor),
              "likelihoods": {"y": model.gaussian.likelihood(y_hat, means, scales), "z": model.hyper_prior.likelihood(z_hat)}}
    return rate_distortion_loss(output, image[:, :, :height, :width], metric)


def annealed_round(x: torch.Tensor, temperature: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Stochastic Gumbel annealing (Yang et al. 2020): a soft, random choice of floor or ceiling.

    The closer ``x`` is to an integer, the likelier it goes there; as the temperature falls the
    choice hardens into rounding, so the optimization ends on the function it is judged by.
    """
    floor = torch.floor(x)
    fraction = (x - floor).clamp(1e-5, 1 - 1e-5)
    logits = torch.stack([-torch.atanh(fraction), -torch.atanh(1 - fraction)], dim=-1) / temperature
    gumbel = -torch.log(-torch.log(torch.rand(logits.shape, generator=generator).clamp(1e-10, 1 - 1e-10)))
    up = torch.softmax(logits + gumbel, dim=-1)[..., 1]
    return floor + up


def refine_latents(
    model: HyperpriorModel, image: torch.Tensor, latents: torch.Tensor, level: float, size: tuple[int, int],
    iterations: int, learning_rate: float = REFINE_LEARNING_RATE, progress: bool = True, metric: str = "mse",
) -> torch.Tensor:
    """The best latents found in ``iterations`` Adam steps from ``latents``; never worse than them.

    The steps follow the annealed relaxation; every :data:`CHECK_EVERY` steps the true (rounded)
    loss is measured, and the latents with the lowest one are returned. ``metric`` is the
    distortion the weights were trained for (``LoadedModel.metric``): refining an MS-SSIM model
    for MSE would undo what its training bought.
    """
    if not isinstance(model, HyperpriorModel):
        raise UnsupportedImageError(f"latent refinement needs a hyperprior model, not a {model.family} one")
    check_refinable(size[1], size[0], metric)
    current = latents.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([current], lr=learning_rate)
    generator = torch.Generator().manual_seed(0)  # the same image and settings give the same file
    best, best_loss = latents.detach().clone(), _rounded_loss(model, image, latents, level, size, metric)[0]
    bar = tqdm(range(iterations), desc="refining latents", unit="it", leave=False, disable=None if progress else True)
    with torch.enable_grad():
        for step in bar:
            check_deadline()
            for group in optimizer.param_groups:
                group["lr"] = learning_rate * 0.5 * (1 + math.cos(math.pi * step / iterations))
            temperature = annealing_temperature(step / iterations)
            loss = rate_distortion(model, image, current, level, size, temperature, generator, metric)["loss"]
            (current.grad,) = torch.autograd.grad(loss, current)
            optimizer.step()
            if (step + 1) % CHECK_EVERY == 0 or step + 1 == iterations:
                rounded, bpp, psnr = _rounded_loss(model, image, current, level, size, metric)
                bar.set_postfix(bpp=f"{bpp:.3f}", psnr=f"{psnr:.2f}", refresh=False)
                if rounded < best_loss:
                    best, best_loss = current.detach().clone(), rounded
    bar.close()
    return best


def check_refinable(width: int, height: int, metric: str = "mse") -> None:
    """Refuse, before any work, an image too large for refinement's whole-image autograd graph, or
    too small for the MS-SSIM of an MS-SSIM model."""
    if width * height > REFINE_MAX_PIXELS:
        raise UnsupportedImageError(
            f"latent refinement handles images up to {REFINE_MAX_PIXELS / 1e6:g} megapixels, got {width}x{height}"
        )
    if metric == "ms-ssim" and min(width, height) < MS_SSIM_MIN_SIDE:
        raise UnsupportedImageError(
            f"refining for MS-SSIM needs images of at least {MS_SSIM_MIN_SIDE} px a side, got {width}x{height}"
        )


def annealing_temperature(progress: float) -> float:
    """0.5 at the start, decaying exponentially to 0.02 from two thirds of the run on."""
    return max(0.5 * math.exp(-5.0 * progress), 0.02)


def _rounded_loss(model: HyperpriorModel, image: torch.Tensor, latents: torch.Tensor, level: float,
                  size: tuple[int, int], metric: str = "mse") -> tuple[float, float, float]:
    """The loss, bpp and PSNR of the rounded code of ``latents``."""
    with torch.no_grad():
        parts = rate_distortion(model, image, latents, level, size, metric=metric)
    return parts["loss"].item(), parts["bpp"].item(), parts["psnr"].item()
