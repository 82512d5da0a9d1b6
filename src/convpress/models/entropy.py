"""Learned entropy models: a factorized prior for the hyper-latents and a Gaussian conditional.

Training uses continuous relaxations (additive uniform noise) and returns likelihoods, whose
negative log2 sum is the rate. For coding, both models are turned into *integer* CDF tables
(:mod:`convpress.coding.tables`) that are stored in the model file, so encoder and decoder use the
same integers on every machine.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

LIKELIHOOD_FLOOR = 1e-9


def _lower_bound_ste(x: torch.Tensor, bound: float) -> torch.Tensor:
    """max(x, bound) whose gradient still flows when x is below the bound and rising helps."""
    return x + (torch.clamp(x, min=bound) - x).detach()


def add_uniform_noise(x: torch.Tensor) -> torch.Tensor:
    """The training proxy for rounding: x + U(-1/2, 1/2)."""
    return x + torch.empty_like(x).uniform_(-0.5, 0.5)


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Rounding with a straight-through gradient."""
    return x + (torch.round(x) - x).detach()


class FactorizedPrior(nn.Module):
    """A per-channel univariate density learned as a monotone cumulative (Ballé et al. 2018).

    The cumulative c(x) = sigmoid(f_K(...f_1(x))) uses softplus-positive matrices and tanh
    gates; the likelihood of an integer is c(x + 1/2) - c(x - 1/2).
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0) -> None:
        super().__init__()
        self.channels = channels
        widths = (1, *filters, 1)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / widths[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, widths[i + 1], widths[i]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, widths[i + 1], 1).uniform_(-0.5, 0.5)))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[i + 1], 1)))

    def _logits_cumulative(self, x: torch.Tensor) -> torch.Tensor:
        """x: [C, 1, N] -> logits of the cumulative, [C, 1, N]."""
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(matrix), x) + bias
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i]) * torch.tanh(x)
        return x

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        """Probability mass of the unit interval around every value of ``z`` ([B, C, H, W])."""
        batch, channels, height, width = z.shape
        flat = z.permute(1, 0, 2, 3).reshape(channels, 1, -1).float()
        lower = self._logits_cumulative(flat - 0.5)
        upper = self._logits_cumulative(flat + 0.5)
        # Evaluate on the side of the median where sigmoid is accurate (as CompressAI does).
        sign = -torch.sign(lower + upper).detach()
        mass = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        mass = mass.reshape(channels, batch, height, width).permute(1, 0, 2, 3)
        return _lower_bound_ste(mass, LIKELIHOOD_FLOOR)

    @torch.no_grad()
    def integer_pmfs(self, tail_mass: float = 1e-9, max_support: int = 1024) -> tuple[list[np.ndarray], np.ndarray]:
        """Per channel: the pmf over the integers where the density is not negligible, and offsets.

        The support is found by bisection on the cumulative (where it crosses tail/2 and 1-tail/2).
        """
        lows, highs = self._support(tail_mass, max_support)
        pmfs = []
        for c in range(self.channels):
            values = torch.arange(lows[c], highs[c] + 1, dtype=torch.float32)
            single = values.view(1, 1, -1)
            lower = torch.sigmoid(self._logits_cumulative_channel(c, single - 0.5))
            upper = torch.sigmoid(self._logits_cumulative_channel(c, single + 0.5))
            pmfs.append((upper - lower).clamp(min=0).double().flatten().numpy())
        return pmfs, np.asarray(lows, dtype=np.int32)

    def _logits_cumulative_channel(self, channel: int, x: torch.Tensor) -> torch.Tensor:
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(matrix[channel : channel + 1]), x) + bias[channel : channel + 1]
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i][channel : channel + 1]) * torch.tanh(x)
        return x

    def _support(self, tail_mass: float, max_support: int) -> tuple[list[int], list[int]]:
        target_low = math.log(tail_mass / 2 / (1 - tail_mass / 2))  # logit(tail/2)
        lows, highs = [], []
        for c in range(self.channels):
            low = self._solve(c, target_low, max_support)
            high = self._solve(c, -target_low, max_support)
            lows.append(int(math.floor(low)))
            highs.append(max(int(math.ceil(high)), int(math.floor(low))))
        return lows, highs

    def _solve(self, channel: int, target_logit: float, max_support: int) -> float:
        low, high = -float(max_support), float(max_support)
        for _ in range(60):
            mid = (low + high) / 2
            value = self._logits_cumulative_channel(channel, torch.tensor([[[mid]]])).item()
            if value < target_logit:
                low = mid
            else:
                high = mid
        return (low + high) / 2


class GaussianConditional(nn.Module):
    """Likelihood of values under N(mean, scale²) integrated over unit bins, scales floored.

    The ``scale_table`` (log-spaced, as in CompressAI) is the set of scales the coder has
    integer CDF tables for; at coding time every scale is mapped to its table index.
    """

    def __init__(self, scale_min: float = 0.11, scale_max: float = 256.0, levels: int = 64) -> None:
        super().__init__()
        self.scale_min = scale_min
        table = torch.exp(torch.linspace(math.log(scale_min), math.log(scale_max), levels))
        self.register_buffer("scale_table", table)

    def likelihood(self, values: torch.Tensor, means: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        scales = _lower_bound_ste(scales, self.scale_min)
        centered = torch.abs(values - means)
        upper = _standard_normal_cdf((0.5 - centered) / scales)
        lower = _standard_normal_cdf((-0.5 - centered) / scales)
        return _lower_bound_ste(upper - lower, LIKELIHOOD_FLOOR)

    def integer_pmfs(self, tail_mass: float = 1e-9) -> tuple[list[np.ndarray], np.ndarray]:
        """Zero-mean pmfs for every scale of the table, over a symmetric integer support."""
        pmfs, offsets = [], []
        for scale in self.scale_table.double().tolist():
            half = max(1, int(math.ceil(scale * _normal_quantile(1 - tail_mass / 2))))
            values = torch.arange(-half, half + 1, dtype=torch.float64)
            upper = _standard_normal_cdf((values + 0.5) / scale)
            lower = _standard_normal_cdf((values - 0.5) / scale)
            pmfs.append((upper - lower).numpy())
            offsets.append(-half)
        return pmfs, np.asarray(offsets, dtype=np.int32)


def _standard_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x * (2**-0.5))


def _normal_quantile(p: float) -> float:
    return math.sqrt(2) * torch.erfinv(torch.tensor(2 * p - 1, dtype=torch.float64)).item()
