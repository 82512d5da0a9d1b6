"""The autoregressive probability model (ARM) of the latents and the coding of the latents.

Every latent gets a Laplace distribution whose mean and log-scale a small MLP predicts from a
neighbourhood of latents the decoder already has. Cool-chic's ARM reads a raster-causal
neighbourhood, which forces one decoding step per pixel; here each level is decoded in four
passes over the phases of its 2x2 grid (A = even/even, B = odd/odd, C = even/odd, D = odd/even),
coarsest level first, so the whole image is 4 * levels vectorized steps. The context of a latent
(21 numbers) is:

- its 8 neighbours in the same level, those of earlier phases (B sees the 4 diagonal A's, C its
  4-neighbours, D all 8), zeros elsewhere;
- the 3x3 neighbourhood of its parent in the next coarser level (zeros for the coarsest level);
- a one-hot code of its phase.

Training evaluates the float MLP on every position at once with masks that reproduce exactly what
the decoder will have seen; the decoder evaluates the integer MLP (:class:`ExactArm`) pass by pass.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from convpress.errors import CorruptDataError
from convpress.overfit.fixedpoint import ONE, ExactLinear, to_fixed
from convpress.overfit.laplace import LOG_SCALE_MAX, LOG_SCALE_MIN, table_index_and_base

PHASES = ((0, 0), (1, 1), (0, 1), (1, 0))
"""(row, column) parity of the positions decoded in each pass, in decoding order."""
NEIGHBOURS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))
COARSE_NEIGHBOURS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
CONTEXT_SIZE = len(NEIGHBOURS) + len(COARSE_NEIGHBOURS) + len(PHASES)
MAX_LATENT = 2**15
"""Decoded latents beyond +-2^15 can only come from a damaged file."""
PROBABILITY_FLOOR = 2.0**-16


def _phase_of(row: int, column: int) -> int:
    return PHASES.index((row % 2, column % 2))


@functools.cache
def _available() -> np.ndarray:
    """[phase, neighbour]: whether that neighbour is decoded before a latent of that phase."""
    return np.array(
        [[_phase_of(py + dy, px + dx) < phase for dy, dx in NEIGHBOURS] for phase, (py, px) in enumerate(PHASES)]
    )


@functools.lru_cache(maxsize=32)
def _training_masks(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For a level of this size: neighbour availability [8, H*W] and phase one-hot [4, H*W]."""
    rows, columns = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    phase = np.vectorize(_phase_of)(rows % 2, columns % 2).reshape(-1)
    available = torch.from_numpy(_available()[phase].T.astype(np.float32))
    one_hot = F.one_hot(torch.from_numpy(phase), len(PHASES)).T.float()
    return available, one_hot


def level_contexts(grid: torch.Tensor, coarse: torch.Tensor | None) -> torch.Tensor:
    """[CONTEXT_SIZE, H*W] training contexts of every latent of a level (raster order).

    ``coarse`` is the next coarser level (None for the coarsest). Feature-major, so that the
    MLP runs as ``W @ contexts`` on contiguous rows.
    """
    height, width = grid.shape
    available, one_hot = _training_masks(height, width)
    same = F.unfold(grid[None, None], 3, padding=1)[0]
    same = torch.cat([same[:4], same[5:]]) * available
    if coarse is None:
        parents = grid.new_zeros(len(COARSE_NEIGHBOURS), height * width)
    else:
        parents = F.unfold(coarse[None, None], 3, padding=1)[0].view(len(COARSE_NEIGHBOURS), *coarse.shape)
        parents = parents.repeat_interleave(2, 1).repeat_interleave(2, 2)[:, :height, :width].reshape(len(COARSE_NEIGHBOURS), -1)
    return torch.cat([same, parents, one_hot])


def laplace_bits(values: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """-log2 of the Laplace probability of the unit interval around each value (floored at 2^-16).

    With ``x = |value - mean|`` and ``r = 1 / scale`` the probability is ``exp(-x r) sinh(r / 2)``
    when ``x >= 1/2`` and ``1 - exp(-r / 2) cosh(x r)`` otherwise: fewer operations on these large
    tensors than a difference of two CDFs.
    """
    rate = torch.exp(-log_scale.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX))
    distance = (values - mean).abs()
    scaled = distance * rate
    half_rate = 0.5 * rate
    outside = scaled - torch.log(torch.sinh(half_rate))
    inside = -torch.log((1 - torch.exp(-half_rate) * torch.cosh(scaled.clamp(max=half_rate))).clamp(min=PROBABILITY_FLOOR))
    nats = torch.where(distance >= 0.5, outside, inside)
    return nats.clamp(max=-math.log(PROBABILITY_FLOOR)) / math.log(2)


class Arm(nn.Module):
    """The float MLP: context -> (mean, log-scale), trained with the latents."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(CONTEXT_SIZE, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2)
        )
        nn.init.zeros_(self.layers[-1].weight)
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, contexts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Feature-major contexts [CONTEXT_SIZE, N] -> means [N] and log-scales [N]."""
        x = contexts
        for layer in self.layers:
            x = torch.addmm(layer.bias[:, None], layer.weight, x) if isinstance(layer, nn.Linear) else layer(x)
        return x[0], x[1]

    def bits(self, latents: list[torch.Tensor]) -> torch.Tensor:
        """Total code length in bits of the latent grids (finest first)."""
        total = latents[0].new_zeros(())
        for level, grid in enumerate(latents):
            coarse = latents[level + 1] if level + 1 < len(latents) else None
            mean, log_scale = self(level_contexts(grid, coarse))
            total = total + laplace_bits(grid.reshape(-1), mean, log_scale).sum()
        return total


class ExactArm:
    """The integer twin of :class:`Arm`, built from its quantized parameters."""

    def __init__(self, layers: list[tuple[torch.Tensor, torch.Tensor]], weight_bits: int, bias_bits: int) -> None:
        last = len(layers) - 1
        self.layers = [
            ExactLinear(w, b, weight_bits, bias_bits, "ARM", relu=number < last) for number, (w, b) in enumerate(layers)
        ]

    def __call__(self, contexts: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-point contexts [CONTEXT_SIZE, N] -> fixed-point means and log-scales (int64 [N])."""
        x = contexts
        for layer in self.layers:
            x = layer(x)
        out = x.numpy().astype(np.int64)
        return out[0], out[1]


def phase_context(grid: torch.Tensor, coarse: torch.Tensor | None, phase: int) -> torch.Tensor:
    """Fixed-point contexts [CONTEXT_SIZE, n] of one phase of a level, from fixed-point grids.

    ``grid`` holds the level's latents decoded so far (zeros elsewhere), ``coarse`` the next coarser
    level (None for the coarsest).
    """
    height, width = grid.shape
    py, px = PHASES[phase]
    rows, columns = -(-(height - py) // 2), -(-(width - px) // 2)
    padded = F.pad(grid, (1, 1, 1, 1))
    features = []
    for (dy, dx), available in zip(NEIGHBOURS, _available()[phase]):
        top, left = 1 + py + dy, 1 + px + dx
        window = padded[top : top + 2 * rows - 1 : 2, left : left + 2 * columns - 1 : 2]
        features.append(window if available else torch.zeros_like(window))
    padded_coarse = F.pad(coarse, (1, 1, 1, 1)) if coarse is not None else None
    for dy, dx in COARSE_NEIGHBOURS:
        if padded_coarse is None:
            features.append(grid.new_zeros(rows, columns))
        else:
            features.append(padded_coarse[1 + dy : 1 + dy + rows, 1 + dx : 1 + dx + columns])
    for other in range(len(PHASES)):
        features.append(grid.new_full((rows, columns), ONE if other == phase else 0.0))
    return torch.stack(features).reshape(CONTEXT_SIZE, rows * columns)


Coder = Callable[[np.ndarray | None, np.ndarray], np.ndarray]
"""``coder(values, table_index)`` codes ``values`` (encoding) or returns the decoded ones (values None)."""


def code_latents(arm: ExactArm, shapes: list[tuple[int, int]], coder: Coder, latents: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Encode (``latents`` given) or decode the latent grids, coarsest level first, phase by phase.

    One procedure for both directions, so every symbol is coded with the table the decoder picks.
    Returns the integer grids (int64, finest first).
    """
    grids = [np.zeros(shape, dtype=np.int64) for shape in shapes]
    fixed = [torch.zeros(shape, dtype=torch.float64) for shape in shapes]
    for level in range(len(shapes) - 1, -1, -1):
        coarse = fixed[level + 1] if level + 1 < len(shapes) else None
        for phase, (py, px) in enumerate(PHASES):
            if py >= shapes[level][0] or px >= shapes[level][1]:
                continue
            mean, log_scale = arm(phase_context(fixed[level], coarse, phase))
            index, base = table_index_and_base(mean, log_scale)
            target = grids[level][py::2, px::2]
            given = None if latents is None else latents[level][py::2, px::2].reshape(-1) - base
            values = coder(given, index).astype(np.int64) + base
            if np.abs(values).max(initial=0) > MAX_LATENT:
                raise CorruptDataError("corrupt overfitted file: a decoded latent is out of range")
            target[...] = values.reshape(target.shape)
            fixed[level][py::2, px::2] = to_fixed(torch.from_numpy(target))
    return grids
