"""Fixed-point evaluation of the networks that produce entropy parameters.

Learned codecs famously fail across machines when the hyper-decoder is evaluated in floating point:
the encoder and the decoder compute slightly different scales, pick different CDF tables, and the
range decoder desynchronises (CompressAI #279, #320; tensorflow/compression #44). Here those
networks run on integers: weights are rounded to multiples of 2^-WEIGHT_BITS, activations to
multiples of 2^-ACT_BITS, and every convolution is a float64 matrix product of integers whose
partial sums provably stay below 2^53, so each product and each sum is exact and *any* summation
order (threads, BLAS, CPU) gives the same integers. Rescaling is a floor division by a power of
two, and the only non-linearity is ReLU: both exact.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

WEIGHT_BITS = 12
ACT_BITS = 8
ACT_LIMIT = float(2 ** (12 + ACT_BITS))  # |activation| < 4096 in real units
EXACT_LIMIT = 2.0**53


class ExactConv(nn.Module):
    """A convolution (or 1x1 / depthwise) on integer-valued float64 tensors, bit-exact anywhere."""

    def __init__(self, layer: nn.Conv2d, weight: torch.Tensor | None = None) -> None:
        super().__init__()
        weight = (layer.weight if weight is None else weight).detach().double()
        self.groups = layer.groups
        self.padding = layer.padding[0]
        self.kernel = layer.kernel_size[0]
        self.weight = torch.round(weight * 2**WEIGHT_BITS)
        bias = layer.bias.detach().double() if layer.bias is not None else torch.zeros(weight.shape[0], dtype=torch.float64)
        self.bias = torch.round(bias * 2 ** (WEIGHT_BITS + ACT_BITS))
        fan_in = weight.shape[1] * self.kernel**2
        worst = fan_in * ACT_LIMIT * float(self.weight.abs().max()) + float(self.bias.abs().max())
        if worst >= EXACT_LIMIT:
            raise ValueError(f"layer with fan-in {fan_in} could overflow exact float64 sums ({worst:.3g} >= 2^53)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            acc = _integer_matmul_conv(x, self.weight, self.padding)
        else:
            acc = F.conv2d(x, self.weight, padding=self.padding, groups=self.groups)
        # In place: on large images these maps are hundreds of MB each (all ops stay exact).
        acc.add_(self.bias.view(1, -1, 1, 1)).mul_(2.0**-WEIGHT_BITS).floor_()
        return acc.clamp_(-ACT_LIMIT, ACT_LIMIT)


def _integer_matmul_conv(x: torch.Tensor, weight: torch.Tensor, padding: int) -> torch.Tensor:
    """Stride-1 convolution as unfold + matrix product (about 3x faster than float64 conv2d)."""
    batch, _, height, width = x.shape
    out_channels, _, kernel, _ = weight.shape
    if kernel == 1:
        columns = x.flatten(2)
    else:
        columns = F.unfold(x, kernel, padding=padding)
    out = weight.view(out_channels, -1) @ columns
    return out.view(batch, out_channels, height, width)


class ExactReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp_(min=0.0)


def to_fixed_point(x: torch.Tensor) -> torch.Tensor:
    """Real values -> integer-valued float64 in units of 2^-ACT_BITS (round half away from zero)."""
    scaled = x.double() * 2**ACT_BITS
    return torch.clamp(torch.sign(scaled) * torch.floor(torch.abs(scaled) + 0.5), -ACT_LIMIT, ACT_LIMIT)


def from_fixed_point(x: torch.Tensor) -> torch.Tensor:
    """Integer-valued fixed point -> real values (exact: division by a power of two)."""
    return x * 2.0**-ACT_BITS


def exact_network(module: nn.Module) -> nn.Sequential:
    """The fixed-point twin of a network built from Conv2d, ReLU, PixelShuffle and Sequentials."""
    layers: list[nn.Module] = []
    for child in _leaves(module):
        if isinstance(child, nn.Conv2d):
            weight = child.weight * child.mask if hasattr(child, "mask") else None
            if child.stride[0] != 1:
                raise ValueError("exact networks support stride-1 convolutions only")
            layers.append(ExactConv(child, weight))
        elif isinstance(child, nn.ReLU):
            layers.append(ExactReLU())
        elif isinstance(child, nn.PixelShuffle):
            layers.append(nn.PixelShuffle(child.upscale_factor))
        else:
            raise ValueError(f"no exact version of {type(child).__name__}")
    return nn.Sequential(*layers)


def _leaves(module: nn.Module):
    children = list(module.children())
    if not children or isinstance(module, nn.Conv2d):
        yield module
        return
    for child in children:
        yield from _leaves(child)
