"""The synthesis: a tiny CNN from the stacked full-resolution latents to the image.

Four layers in the style of Cool-chic 3: a 1x1 convolution to ``hidden`` channels with ReLU, a 1x1
convolution to the image channels, then two residual 3x3 convolutions (``x + conv(x)``, the first
followed by ReLU) with replicated edges. For 7 levels, 16 hidden channels and RGB that is 322
multiply-accumulates per pixel. Its float version is trained; :class:`ExactSynthesis` evaluates
the quantized parameters in integer arithmetic for a decoder that gives the same pixels anywhere.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from convpress.overfit.fixedpoint import ACTIVATION_LIMIT, FRACTION_BITS, ExactLinear, round_shift

LAYOUT = ((1, False, True), (1, False, False), (3, True, True), (3, True, False))
"""(kernel size, residual, ReLU after) of each layer."""


def layer_widths(levels: int, hidden: int, channels: int) -> list[tuple[int, int]]:
    """(input, output) channels of each layer of :data:`LAYOUT`."""
    return [(levels, hidden), (hidden, channels), (channels, channels), (channels, channels)]


class Synthesis(nn.Module):
    def __init__(self, levels: int, hidden: int, channels: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Conv2d(inputs, outputs, kernel)
            for (kernel, _, _), (inputs, outputs) in zip(LAYOUT, layer_widths(levels, hidden, channels))
        )
        for (_, residual, _), layer in zip(LAYOUT, self.layers):
            if residual:  # start as the identity
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, stack: torch.Tensor) -> torch.Tensor:
        """[1, levels, H, W] channels-last -> image [1, channels, H, W] in [0, 1] (not clamped).

        Channels-last throughout: the 1x1 layers are matrix products on the [H*W, C] rows, the
        3x3 ones convolutions with replicated edges, which oneDNN runs several times faster
        channels-last than channels-first with so few channels.
        """
        _, _, height, width = stack.shape
        x = stack
        for (kernel, residual, relu), layer in zip(LAYOUT, self.layers):
            if kernel == 1:
                rows = x.permute(0, 2, 3, 1).reshape(height * width, -1)
                out = F.linear(rows, layer.weight.flatten(1), layer.bias).reshape(1, height, width, -1).permute(0, 3, 1, 2)
            else:
                weight = layer.weight.contiguous(memory_format=torch.channels_last)
                out = F.conv2d(F.pad(x, (kernel // 2,) * 4, mode="replicate"), weight, layer.bias)
            x = out + x if residual else out
            if relu:
                x = F.relu(x)
        return x


class ExactSynthesis:
    """Integer evaluation of the quantized synthesis on a fixed-point stack."""

    def __init__(self, layers: list[tuple[torch.Tensor, torch.Tensor]], weight_bits: int, bias_bits: int) -> None:
        self.layers = [
            ExactLinear(w, b, weight_bits, bias_bits, "synthesis", relu=relu and not residual)
            for (w, b), (_, residual, relu) in zip(layers, LAYOUT)
        ]

    def __call__(self, stack: torch.Tensor) -> torch.Tensor:
        """Fixed-point [levels, H, W] -> fixed-point image [channels, H, W]."""
        _, height, width = stack.shape
        x = stack
        for (kernel, residual, relu), layer in zip(LAYOUT, self.layers):
            out = layer(_columns(x, kernel)).reshape(-1, height, width)
            if residual:
                x = out.add_(x).clamp_(0.0 if relu else -ACTIVATION_LIMIT, ACTIVATION_LIMIT)
            else:
                x = out
        return x


def _columns(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """[C, H, W] -> [C*k*k, H*W] patches with replicated edges, ordered like Conv2d weights."""
    if kernel == 1:
        return x.reshape(x.shape[0], -1)
    padded = F.pad(x[None], (kernel // 2,) * 4, mode="replicate")
    return F.unfold(padded, kernel)[0]


def to_pixels(image: torch.Tensor) -> np.ndarray:
    """Fixed-point [C, H, W] -> uint8 [H, W, C]: ``round(255 x)`` clamped to 0..255, exactly."""
    pixels = round_shift(image * 255.0, FRACTION_BITS).clamp(0, 255)
    return pixels.permute(1, 2, 0).numpy().astype(np.uint8)
