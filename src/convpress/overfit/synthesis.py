"""The synthesis: a tiny CNN from the stacked full-resolution latents to the image.

Four layers in the style of Cool-chic 3: a 1x1 convolution to ``hidden`` channels with ReLU, a 1x1
convolution to the image channels, then two residual 3x3 convolutions (``x + conv(x)``, the first
followed by ReLU) with replicated edges. The layer to the image channels starts with its bias at
mid-grey (:data:`INITIAL_GREY`): that ReLU acts on the image's own colours, and a colour that
started negative everywhere (the latents start at zero, so each colour starts as a constant)
would get no gradient again and end 10 dB short (``docs/overfit.md``). For 7 levels, 16 hidden
channels and RGB that is 322 multiply-accumulates per pixel. Its float version is trained;
:class:`ExactSynthesis` evaluates the quantized parameters in integer arithmetic for a decoder
that gives the same pixels anywhere.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from convpress.overfit.banded import BandedSum, row_bands
from convpress.overfit.fixedpoint import ACTIVATION_LIMIT, FRACTION_BITS, ExactLayer, ExactLinear, round_shift

LAYOUT = ((1, False, True), (1, False, False), (3, True, True), (3, True, False))
"""(kernel size, residual, ReLU after) of each layer."""
HALO_ROWS = 2
"""Rows of context a band needs on each side: its two 3x3 layers each reach one row further."""
INITIAL_GREY = 0.5
"""Initial bias of the layer to the image channels: every colour starts positive."""
BAND_PIXELS = 2**15
"""Pixels per band of the banded training evaluation."""


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
        nn.init.constant_(self.layers[1].bias, INITIAL_GREY)  # the 1x1 layer to the image channels

    def forward(self, stack: torch.Tensor) -> torch.Tensor:
        """[1, levels, H, W] channels-last -> image [1, channels, H, W] in [0, 1] (not clamped)."""
        return _synthesize(stack, *self.parameters())

    def squared_error(self, stack: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Sum of the squared errors of the image of ``stack`` against ``target`` [1, channels, H, W].

        Evaluated in bands of about :data:`BAND_PIXELS` pixels, forward and backward, each with
        the :data:`HALO_ROWS` rows its 3x3 layers read (:mod:`convpress.overfit.banded`).
        """
        height, width = stack.shape[2:]
        bands = [
            (low, high, (offset, rows, target[:, :, low + offset : low + offset + rows]))
            for low, high, offset, rows in row_bands(height, max(1, BAND_PIXELS // width), HALO_ROWS)
        ]
        return BandedSum.apply(_band_squared_error, bands, width, stack, *self.parameters())


def _synthesize(x: torch.Tensor, *parameters: torch.Tensor) -> torch.Tensor:
    """The float synthesis of [1, levels, H, W] channels-last with the layers' weights and biases, in order.

    Channels-last throughout: the 1x1 layers are matrix products on the [H*W, C] rows, the 3x3
    ones convolutions with replicated edges, which oneDNN runs several times faster channels-last
    than channels-first with so few channels.
    """
    _, _, height, width = x.shape
    for (kernel, residual, relu), weight, bias in zip(LAYOUT, parameters[::2], parameters[1::2]):
        if kernel == 1:
            rows = x.permute(0, 2, 3, 1).reshape(height * width, -1)
            out = F.linear(rows, weight.flatten(1), bias).reshape(1, height, width, -1).permute(0, 3, 1, 2)
        else:
            padded = F.pad(x, (kernel // 2,) * 4, mode="replicate")
            out = F.conv2d(padded, weight.contiguous(memory_format=torch.channels_last), bias)
        x = out + x if residual else out
        if relu:
            x = F.relu(x)
    return x


def _band_squared_error(band: torch.Tensor, info: tuple[int, int, torch.Tensor], *parameters: torch.Tensor) -> torch.Tensor:
    """Squared error of the ``rows`` output rows from ``offset`` of a band with halo, against their target."""
    offset, rows, target = info
    return (_synthesize(band, *parameters)[:, :, offset : offset + rows] - target).square().sum()


class ExactSynthesis:
    """Integer evaluation of the quantized synthesis on a fixed-point stack."""

    def __init__(self, layers: list[ExactLayer]) -> None:
        self.layers = [
            ExactLinear(layer.weight, layer.bias, layer.weight_bits, layer.bias_bits, "synthesis", relu=relu and not residual)
            for layer, (_, residual, relu) in zip(layers, LAYOUT)
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
