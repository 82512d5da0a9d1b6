"""Rate-distortion optimized rounding of the latents (RDOQ), after training.

Training ends with soft rounding and the encoder then rounds every latent to its nearest integer.
That is the integer closest to where the relaxed optimum lies, not the integer with the least
``MSE + lambda * bpp``: a latent one step nearer zero, or one step the other way, is often worth
more bits saved (its own and its neighbours', whose probabilities read it) than the error it adds,
or less error than the bits it costs. Classical codecs search those choices coefficient by coefficient
(RDOQ in HM and VTM); here a greedy pass per latent level tries, for every latent at once, each of
two moves (+1 and -1, one of which leads towards zero) and keeps, per latent, the one that lowers
the loss most, if any does.

The loss change of a move is evaluated exactly, not estimated: the latents of a level are visited in
interleaved sublattices, spaced so that the *footprints* of one sublattice's latents do not overlap
(the pixels a latent reaches through the upsampling and the synthesis, the latents of its own level
whose context holds it, its children in the next finer level). One evaluation of the whole image with a
sublattice moved then gives every moved latent its own loss change: the sum, over its footprint, of the
per-pixel squared error's change and of the per-latent code lengths' change. A sublattice whose moves
did not lower the total loss (the footprint of a coarse latent reaches slightly further than its window
through the upsampling's outer taps) is undone.

On a 768x512 Kodak image after 600 iterations two sweeps over the levels lowered the loss by 4 %
(``docs/overfit.md`` has the measurements at the presets' budgets).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F
from tqdm import tqdm

from convpress.deadline import check_deadline
from convpress.overfit.arm import PHASES, Arm, laplace_bits, phase_grids
from convpress.overfit.latents import Upsampler, level_shapes, upsample_2x_float
from convpress.overfit.synthesis import Synthesis

LEVEL0_REACH = (2, 3)
"""(rows, columns) either side of a finest-level latent that its change reaches: the synthesis' two 3x3
layers (2 pixels) and the latents whose context holds it (2 rows below, 3 columns either side)."""
COARSE_REACH = (3, 3)
"""The same for a coarser level, in its own cells: the upsampling's taps and the synthesis spread a
latent's change over about 3 cells either side (the outermost taps, a few percent, a little further)."""
REFINED_LEVELS = 5
"""Levels refined, finest first: the coarser ones hold a few hundred latents and gained nothing measurable."""


def refine_latents(
    networks: dict, latents: list[torch.Tensor], target: torch.Tensor, lmbda: float, sweeps: int, progress: bool | None = None
) -> list[torch.Tensor]:
    """Integer latent grids (finest first) with a lower ``MSE + lambda * bpp`` than ``latents``.

    ``networks`` are the float networks the file will carry (their quantized values), keyed as in
    :func:`convpress.overfit.bitstream.float_networks`; ``target`` [1, C, H, W] in 0-1. Each sweep
    visits the :data:`REFINED_LEVELS` finest levels, finest first.
    """
    latents = [grid.clone() for grid in latents]
    levels = list(range(min(REFINED_LEVELS, len(latents)))) * sweeps
    evaluator = _Evaluator(networks, target, lmbda)
    for level in tqdm(levels, desc="rdoq", unit="level", disable=None if progress is None else not progress, leave=False):
        _refine_level(evaluator, latents, level)
    return latents


class _Evaluator:
    """Per-pixel squared errors and per-latent code lengths of latent grids, with the float networks."""

    def __init__(self, networks: dict, target: torch.Tensor, lmbda: float) -> None:
        self.upsampling: Upsampler = networks["upsampling"]
        self.arm: Arm = networks["arm"]
        self.synthesis: Synthesis = networks["synthesis"]
        self.target = target
        self.lmbda = lmbda
        self.pixels = target.shape[2] * target.shape[3]
        self.shapes = level_shapes(target.shape[2], target.shape[3], len(self.upsampling.taps) + 1)

    @torch.no_grad()
    def stack(self, latents: list[torch.Tensor]) -> torch.Tensor:
        """The synthesis input of ``latents``: every level upsampled to full resolution."""
        return self.upsampling(latents)

    @torch.no_grad()
    def moved_stack(self, stack: torch.Tensor, level: int, change: torch.Tensor) -> torch.Tensor:
        """``stack`` after adding ``change`` to level ``level``'s latents.

        The upsampling is linear and each level is its own channel of the stack, so only the change
        goes through it: one channel instead of all the coarser ones, a third of an evaluation's time.
        """
        upsampled = change[None, None]
        for finer in range(level - 1, -1, -1):
            upsampled = upsample_2x_float(upsampled, self.upsampling.taps[finer])
            height, width = self.shapes[finer]
            upsampled = upsampled[:, :, :height, :width]
        moved = stack.clone()
        moved[:, level] += upsampled[0, 0]
        return moved

    @torch.no_grad()
    def loss_map(self, stack: torch.Tensor, latents: list[torch.Tensor], level: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(squared error summed over channels [H, W], code length [H_l, W_l] of level ``level``'s latents
        plus, pooled onto them, their children's in level ``level - 1``), both in units of the loss.
        ``stack`` is the synthesis input of ``latents``."""
        error = (self.synthesis(stack) - self.target).square().sum(1)[0] / self.target.numel()
        bits = self._bits(latents, level)
        if level > 0:
            children = _pooled(self._bits(latents, level - 1), 2)
            bits = bits + children[: bits.shape[0], : bits.shape[1]]
        return error, bits * (self.lmbda / self.pixels)

    def _bits(self, latents: list[torch.Tensor], level: int) -> torch.Tensor:
        """Code length in bits of each latent of ``level`` [H_l, W_l] under the ARM."""
        grid = latents[level]
        grids = phase_grids(grid, latents[level + 1] if level + 1 < len(latents) else None)
        mean, log_scale = self.arm(grids)
        values = grids[0, : len(PHASES)].permute(1, 2, 0)
        bits = laplace_bits(values, mean, log_scale)
        full = bits.new_zeros(2 * bits.shape[0], 2 * bits.shape[1])
        for phase, (py, px) in enumerate(PHASES):
            full[py::2, px::2] = bits[:, :, phase]
        return full[: grid.shape[0], : grid.shape[1]]


def _refine_level(evaluator: _Evaluator, latents: list[torch.Tensor], level: int) -> None:
    """One greedy pass over the latents of ``level``, sublattice by sublattice (in place)."""
    reach_rows, reach_columns = LEVEL0_REACH if level == 0 else COARSE_REACH
    stride = (2 * reach_rows + 1, 2 * reach_columns + 1)
    window = torch.ones(1, 1, *stride)
    scale = 2**level
    height, width = latents[level].shape
    stack = evaluator.stack(latents)
    current = evaluator.loss_map(stack, latents, level)
    for row in range(min(stride[0], height)):
        for column in range(min(stride[1], width)):
            check_deadline()
            grid = latents[level]
            chosen = torch.zeros_like(grid)
            chosen[row :: stride[0], column :: stride[1]] = 1.0
            best_gain, best = torch.zeros_like(grid), grid
            for step in (1.0, -1.0):
                moved = grid + step * chosen
                error, bits = evaluator.loss_map(evaluator.moved_stack(stack, level, step * chosen), _with_level(latents, level, moved), level)
                change = _pooled(error - current[0], scale)[:height, :width] + bits - current[1]
                in_window = F.conv2d(F.pad(change[None, None], (reach_columns,) * 2 + (reach_rows,) * 2), window)[0, 0]
                better = (chosen > 0) & (in_window < best_gain)
                best_gain = torch.where(better, in_window, best_gain)
                best = torch.where(better, moved, best)
            if not bool((best != grid).any()):
                continue
            moved_stack = evaluator.moved_stack(stack, level, best - grid)
            after = evaluator.loss_map(moved_stack, _with_level(latents, level, best), level)
            if float(after[0].sum() + after[1].sum()) < float(current[0].sum() + current[1].sum()):
                latents[level], stack, current = best, moved_stack, after


def _with_level(latents: list[torch.Tensor], level: int, grid: torch.Tensor) -> list[torch.Tensor]:
    return latents[:level] + [grid] + latents[level + 1 :]


def _pooled(values: torch.Tensor, scale: int) -> torch.Tensor:
    """Values summed over the ``scale`` x ``scale`` cells of a coarser grid."""
    if scale == 1:
        return values
    return F.avg_pool2d(values[None, None], scale, scale, ceil_mode=True, divisor_override=1)[0, 0]
