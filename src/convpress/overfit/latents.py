"""Multi-resolution latent grids, their quantization proxies and their upsampling.

The image is represented by ``levels`` one-channel grids, level ``l`` at ``1 / 2**l`` of the image
resolution (rounded up), all optimized directly by gradient descent (Cool-chic, Ladune et al.
2023). Rounding is not differentiable, so training uses proxies (C3, Kim et al. 2024): soft
rounding with an annealed temperature around Kumaraswamy noise, then true rounding with a
soft-rounding gradient.

To feed the synthesis, the grids are brought to full resolution coarsest first: the stack is
upsampled 2x with a learned separable 4-tap filter (one per level, initialized to bicubic), cropped
to the next level's size, and that level's grid is stacked on top, so level 0 has ``levels``
channels. The integer filter (decoder) rounds after each 1-D pass (:func:`upsample_2x`); the float
one (training) has no rounding to respect and runs both passes as one 2-D convolution.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from convpress.overfit.fixedpoint import check_exact_sum, clamp_activation, round_shift

BICUBIC_TAPS = (-0.03515625, 0.26171875, 0.87890625, -0.10546875)
"""Bicubic (a = -0.75) weights of an even output sample on inputs i-2 .. i+1; odd ones are mirrored."""


def level_shapes(height: int, width: int, levels: int) -> list[tuple[int, int]]:
    """(height, width) of every latent level, finest first."""
    return [(-(-height // 2**level), -(-width // 2**level)) for level in range(levels)]


def soft_round(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """Agustsson & Theis' soft rounding: identity as temperature grows, rounding as it goes to 0."""
    floor = torch.floor(x)
    delta = x - floor - 0.5
    return floor + 0.5 * torch.tanh(delta / temperature) / math.tanh(0.5 / temperature) + 0.5


def kumaraswamy_noise(like: torch.Tensor, a: float) -> torch.Tensor:
    """Noise in (-1/2, 1/2) with mode 0 (C3): uniform for ``a = 1``, more peaked as ``a`` grows."""
    b = (2**a * (a - 1) + 1) / a
    uniform = torch.rand_like(like).clamp(1e-6, 1 - 1e-6)
    return (1 - (1 - uniform) ** (1 / b)) ** (1 / a) - 0.5


def soft_round_with_noise(x: torch.Tensor, temperature: float, noise: float) -> torch.Tensor:
    """The training stand-in for ``round(x)`` (C3): ``s(s(x) + n)``, n Kumaraswamy noise of parameter ``noise``."""
    return soft_round(soft_round(x, temperature) + kumaraswamy_noise(x, noise), temperature)


def upsample_2x(x: torch.Tensor, taps: torch.Tensor, rescale: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """2x separable upsampling of [C, H, W] with 4 taps (even outputs; odd ones use them mirrored).

    Edges are replicated. ``rescale`` is applied after each of the two 1-D passes (identity in
    float, a rounding shift in fixed point). In fixed point the products sum integers below 2^53,
    so the result does not depend on how the library orders the sums.
    """
    zero = taps.new_zeros(1)
    kernels = torch.stack([torch.cat([taps, zero]), torch.cat([zero, taps.flip(0)])])
    x = rescale(_upsample_last_dim(x, kernels))
    return rescale(_upsample_last_dim(x.transpose(1, 2), kernels)).transpose(1, 2)


def _upsample_last_dim(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """[C, H, W] -> [C, H, 2W]: even and odd outputs of 5-tap kernels [2, 5] over inputs i-2 .. i+2.

    A matrix product over a strided view of the 5-sample windows: on CPU several times faster,
    forward and backward, than a 1-D convolution with one input channel.
    """
    channels, height, width = x.shape
    rows = F.pad(x.reshape(channels * height, 1, width), (2, 2), mode="replicate")[:, 0]
    windows = rows.unfold(1, 5, 1)  # [C*H, W, 5]
    return (windows @ kernels.T).reshape(channels, height, 2 * width)


class Upsampler(nn.Module):
    """The learned float filters: ``taps[l]`` upsamples the stack from level l + 1 to level l."""

    def __init__(self, levels: int) -> None:
        super().__init__()
        self.taps = nn.Parameter(torch.tensor([BICUBIC_TAPS] * max(levels - 1, 0), dtype=torch.float32))

    def forward(self, latents: list[torch.Tensor]) -> torch.Tensor:
        """Latent grids [H_l, W_l], finest first -> [1, levels, H, W] (channels-last) at full resolution."""
        stack = latents[-1][None, None]
        for level in range(len(latents) - 2, -1, -1):
            height, width = latents[level].shape
            upsampled = upsample_2x_float(stack, self.taps[level])[:, :, :height, :width]
            stack = torch.cat([latents[level][None, None], upsampled], 1).contiguous(memory_format=torch.channels_last)
        return stack


def upsample_2x_float(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """:func:`upsample_2x` without the rounding, of [1, C, H, W]: one depthwise transposed convolution.

    Output 2i + e reads inputs i - 2 .. i + 2 with the even or mirrored taps, which is a stride-2
    transposed convolution with the 8-tap kernel ``t0 t3 t1 t2 t2 t1 t3 t0`` (padding 3); the
    2-D kernel is its outer product, the input is edge-replicated by 2 first, and the output
    cropped. Channels-last, it costs about half of the two separable passes, forward and backward.
    """
    channels, height, width = x.shape[1:]
    kernel = taps[[0, 3, 1, 2, 2, 1, 3, 0]]
    weight = torch.outer(kernel, kernel).expand(channels, 1, 8, 8).contiguous(memory_format=torch.channels_last)
    padded = F.pad(x, (2, 2, 2, 2), mode="replicate").contiguous(memory_format=torch.channels_last)
    out = F.conv_transpose2d(padded, weight, stride=2, padding=3, groups=channels)
    return out[:, :, 4 : 4 + 2 * height, 4 : 4 + 2 * width]


def stack_levels(latents: list[torch.Tensor], upsample: Callable[[torch.Tensor, int], torch.Tensor]) -> torch.Tensor:
    """Coarsest first: upsample the stack, crop it to the next level, put that level on top (the decoder's order)."""
    stack = latents[-1][None]
    for level in range(len(latents) - 2, -1, -1):
        height, width = latents[level].shape
        stack = upsample(stack, level)[:, :height, :width]
        stack = torch.cat([latents[level][None], stack], dim=0)
    return stack


class ExactUpsampler:
    """The decoder's upsampling: integer taps with ``bits`` fractional bits on fixed-point grids -> [levels, H, W]."""

    def __init__(self, taps: torch.Tensor, bits: int) -> None:
        check_exact_sum(len(BICUBIC_TAPS), taps.double(), None, "upsampling")
        self.taps = taps.double()
        self.bits = bits

    def __call__(self, latents: list[torch.Tensor]) -> torch.Tensor:
        return stack_levels(latents, lambda x, level: upsample_2x(x, self.taps[level], self._rescale))

    def _rescale(self, x: torch.Tensor) -> torch.Tensor:
        return clamp_activation(round_shift(x, self.bits))
