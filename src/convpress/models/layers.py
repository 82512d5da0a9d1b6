"""Building blocks shared by every convpress model.

- :class:`SimplifiedGDN` / inverse: the normalisation of Ballé et al. in the cheaper
  "GDN-1/2" form of Johnston et al. 2019 (|x| instead of x², no square root), which trains as
  well and costs less on CPU.
- :func:`conv` (strided down-sampling) and :class:`SubpixelUp` (3x3 convolution + pixel
  shuffle): sub-pixel up-sampling is ~2.8x cheaper than a 5x5 transposed convolution for the same
  receptive field, which is what lets the decoder meet its CPU time budget.
- :class:`CheckerboardMaskedConv`: the parallel context model of He et al. 2021.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def conv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.Conv2d:
    """A 'same'-padded convolution; stride 2 halves the resolution."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2)


class SubpixelUp(nn.Sequential):
    """Doubles the resolution: 3x3 convolution to 4x the channels, then pixel shuffle."""

    def __init__(self, in_channels: int, out_channels: int, factor: int = 2) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels * factor**2, 3, padding=1),
            nn.PixelShuffle(factor),
        )


class _NonNegative(nn.Module):
    """Keeps a parameter non-negative (and above a floor) through a squared reparametrisation.

    The floor stops GDN's denominator from collapsing to zero, the squared form keeps gradients
    alive near the bound (as in Ballé's and CompressAI's GDN).
    """

    def __init__(self, floor: float) -> None:
        super().__init__()
        self.pedestal = 2.0**-18
        self.bound = (floor + self.pedestal) ** 0.5

    def init(self, value: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(torch.clamp(value + self.pedestal, min=self.pedestal))

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return torch.clamp(raw, min=self.bound) ** 2 - self.pedestal


class SimplifiedGDN(nn.Module):
    """y = x / (beta + gamma |x|)   (or, inverse, y = x * (beta + gamma |x|))."""

    def __init__(self, channels: int, inverse: bool = False, gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self._beta_param = _NonNegative(1e-6)
        self._gamma_param = _NonNegative(0.0)
        self.beta = nn.Parameter(self._beta_param.init(torch.ones(channels)))
        self.gamma = nn.Parameter(self._gamma_param.init(gamma_init * torch.eye(channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        beta = self._beta_param(self.beta).to(x.dtype)
        gamma = self._gamma_param(self.gamma).to(x.dtype).view(channels, channels, 1, 1)
        norm = F.conv2d(torch.abs(x), gamma, beta)
        return x * norm if self.inverse else x / norm


class CheckerboardMaskedConv(nn.Conv2d):
    """A convolution that only sees the opposite checkerboard colour around each position.

    Anchors (``(row + col)`` even, see :func:`anchor_mask`) are decoded first from the hyperprior
    alone; the non-anchors are then decoded in one parallel pass whose context is this convolution
    of the decoded anchors. Taps at an even offset from the centre (same colour) are masked.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, groups: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2, groups=groups)
        mask = torch.zeros(kernel_size, kernel_size)
        mask[0::2, 1::2] = 1
        mask[1::2, 0::2] = 1
        self.register_buffer("mask", mask[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding, groups=self.groups)


def anchor_mask(height: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """Boolean [1,1,H,W] mask of the anchor positions ((row + col) even), decoded first."""
    rows = torch.arange(height, device=device).view(-1, 1)
    cols = torch.arange(width, device=device).view(1, -1)
    return ((rows + cols) % 2 == 0)[None, None]
