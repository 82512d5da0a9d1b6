"""Rate-distortion losses: lambda * 255^2 * MSE + bpp (CompressAI's convention), or MS-SSIM."""

from __future__ import annotations

import math

import torch
from pytorch_msssim import ms_ssim


def bits_per_pixel(likelihoods: dict[str, torch.Tensor], num_pixels: int) -> torch.Tensor:
    """Per-sample rate [B] in bits per pixel from the likelihoods of every latent."""
    total = sum(torch.log(lik).flatten(1).sum(1) for lik in likelihoods.values())
    return total / (-math.log(2) * num_pixels)


def rate_distortion_loss(output: dict, target: torch.Tensor, metric: str = "mse", balance_levels: bool = False) -> dict[str, torch.Tensor]:
    """The training objective with one lambda per sample; returns the loss and its parts.

    With ``balance_levels`` each sample's term is scaled by sqrt(LAMBDA_REFERENCE / lambda): a
    per-sample constant, so every level's optimum is unchanged, but the low-rate samples (whose
    lambda*D + R is ~10x smaller than the high-rate ones') get an equal share of the gradient of
    the shared transforms instead of being drowned out.
    """
    height, width = target.shape[2:]
    bpp = bits_per_pixel(output["likelihoods"], height * width)
    x_hat = output["x_hat"].float()
    mse = (x_hat - target).pow(2).flatten(1).mean(1)
    lmbda = output["lmbda"]
    weight = level_weights(lmbda) if balance_levels else torch.ones_like(lmbda)
    if metric == "mse":
        distortion = 255.0**2 * mse
    elif metric == "ms-ssim":
        # CompressAI's MS-SSIM models use lambda * (1 - MS-SSIM) with lambdas ~ 2.4-60 x larger.
        similarity = ms_ssim(x_hat.clamp(0, 1), target, data_range=1.0, size_average=False)
        distortion = 1.0 - similarity
        lmbda = lmbda * MS_SSIM_LAMBDA_FACTOR
    else:
        raise ValueError(f"unknown distortion metric {metric!r}")
    loss = (weight * (lmbda * distortion + bpp)).mean()
    psnr = 10 * torch.log10(1.0 / mse.detach().clamp(min=1e-10))
    return {"loss": loss, "bpp": bpp.detach().mean(), "mse": mse.detach().mean(), "psnr": psnr.mean()}


def level_weights(lmbda: torch.Tensor) -> torch.Tensor:
    """sqrt(LAMBDA_REFERENCE / lambda): equalizes lambda*D + R across the rate levels on Kodak-like images."""
    return torch.sqrt(LAMBDA_REFERENCE / lmbda)


# The geometric middle of the default lambdas (0.0018 ... 0.18): its samples keep weight 1.
# Measured on the shipped model, lambda*255^2*MSE + bpp is ~0.65 at 0.0018 and ~6.7 at 0.18,
# i.e. it grows as sqrt(lambda), which the weights undo.
LAMBDA_REFERENCE = 0.018

# Maps the MSE lambdas onto MS-SSIM ones so a level keeps roughly its bitrate: CompressAI's
# MS-SSIM lambdas (2.40 ... 220) over its MSE lambdas (0.0018 ... 0.18) ~ 1300 x.
MS_SSIM_LAMBDA_FACTOR = 1300.0
