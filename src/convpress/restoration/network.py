"""The restoration network: a compact conditional U-Net that predicts a residual.

Design (after KAIR's FFDNet and DRUNet, scaled down for CPU inference and training):

- the image is pixel-unshuffled 2x first (FFDNet): every convolution then runs on a quarter of
  the positions, which is what makes a 768x512 image take well under 2 s on one CPU core;
- a conditioning map (noise sigma/255 for denoising, (100 - JPEG quality)/100 for deblocking) is
  concatenated to the input, so one set of weights covers every noise level or quality, and a
  map that varies over the image is possible;
- three scales of plain residual blocks (conv-ReLU-conv + skip, no normalisation: DRUNet), strided
  2x2 convolutions down, 2x2 transposed convolutions up, additive skips;
- the output is the input plus a predicted residual (DnCNN's residual learning).

One model serves gray and colour images: gray images enter as three equal channels and leave as
the mean of the three outputs. Training mixes both kinds (see :mod:`convpress.training.restore`),
which lets one (CPU-limited) training run teach both instead of two.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn
from torch.nn import functional as F

UNSHUFFLE = 2
"""Pixel-unshuffle factor of the input."""


class ResidualBlock(nn.Module):
    """conv3x3 - ReLU - conv3x3, added to the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


def _blocks(channels: int, count: int) -> nn.Sequential:
    return nn.Sequential(*(ResidualBlock(channels) for _ in range(count)))


class RestorationUNet(nn.Module):
    """``forward(x, level)``: x [B, 3, H, W] on the 0-1 scale (may exceed it), level [B] or [B, 1, H, W].

    H and W must be multiples of :attr:`stride`; :func:`convpress.restoration.inference.restore`
    pads and tiles arbitrary images.
    """

    def __init__(self, widths: list[int] | tuple[int, ...] = (32, 64, 128), blocks: list[int] | tuple[int, ...] = (2, 2, 2),
                 channels: int = 3) -> None:
        super().__init__()
        if len(widths) != len(blocks) or len(widths) < 2:
            raise ValueError("widths and blocks need one entry per scale, at least two scales")
        self.config = {"widths": list(widths), "blocks": list(blocks), "channels": channels}
        self.channels = channels
        packed = channels * UNSHUFFLE**2
        self.head = nn.Conv2d(packed + 1, widths[0], 3, padding=1)
        self.encoders = nn.ModuleList(_blocks(w, n) for w, n in zip(widths[:-1], blocks[:-1]))
        self.downs = nn.ModuleList(nn.Conv2d(a, b, 2, stride=2) for a, b in zip(widths[:-1], widths[1:]))
        self.body = _blocks(widths[-1], blocks[-1])
        self.ups = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in zip(widths[:-1], widths[1:]))
        self.decoders = nn.ModuleList(_blocks(w, n) for w, n in zip(widths[:-1], blocks[:-1]))
        self.tail = nn.Conv2d(widths[0], packed, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # start as the identity: the residual begins at zero
        nn.init.zeros_(self.tail.bias)
        self.bf16 = False
        """bf16 autocast of the convolutions while training (AMX makes them several times faster)."""

    @property
    def stride(self) -> int:
        """Input sizes must be multiples of this (unshuffle times the down-samplings)."""
        return UNSHUFFLE * 2 ** (len(self.downs))

    @property
    def receptive_radius(self) -> int:
        """An upper bound, in input pixels, on how far an output pixel sees: the tile overlap."""
        radius = UNSHUFFLE
        for scale, count in enumerate(self.config["blocks"]):
            step = UNSHUFFLE * 2**scale
            is_last = scale == len(self.config["blocks"]) - 1
            convs = 2 * count * (1 if is_last else 2) + (0 if is_last else 2)  # blocks (+ down and up)
            radius += step * convs
        return radius + 2 * UNSHUFFLE  # head and tail

    def forward(self, x: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        if height % self.stride or width % self.stride:
            raise ValueError(f"input sides must be multiples of {self.stride}, got {width}x{height}")
        level = level.to(x.dtype)
        if level.ndim == 1:
            level = level.view(batch, 1, 1, 1).expand(batch, 1, height // UNSHUFFLE, width // UNSHUFFLE)
        else:
            level = F.avg_pool2d(level, UNSHUFFLE)
        features = torch.cat([F.pixel_unshuffle(x, UNSHUFFLE), level], dim=1)
        context = torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 and self.training else nullcontext()
        with context:
            residual = self._unet(features)
        return x + F.pixel_shuffle(residual.float(), UNSHUFFLE)

    def _unet(self, features: torch.Tensor) -> torch.Tensor:
        h = self.head(features)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            h = encoder(h)
            skips.append(h)
            h = down(h)
        h = self.body(h)
        for up, decoder, skip in zip(reversed(self.ups), reversed(self.decoders), reversed(skips)):
            h = decoder(up(h) + skip)
        return self.tail(h)


PRESETS: dict[str, dict] = {
    "restore-unet": {"widths": [32, 64, 128], "blocks": [2, 2, 2]},
    # Tiny variant for tests.
    "restore-tiny": {"widths": [8, 16], "blocks": [1, 1]},
}
DEFAULT_PRESET = "restore-unet"


def create_network(preset: str = DEFAULT_PRESET) -> RestorationUNet:
    if preset not in PRESETS:
        raise ValueError(f"unknown restoration preset {preset!r}; presets: {', '.join(PRESETS)}")
    return RestorationUNet(**PRESETS[preset])
