"""The autoregressive probability model (ARM) of the latents and the coding of the latents.

Every latent gets a Laplace distribution whose mean and log-scale a small MLP predicts from a
neighbourhood of latents the decoder already has. Cool-chic's ARM reads a raster-causal
neighbourhood (the rows above and the latents to the left), which forces one decoding step per
latent, or a wavefront of a few thousand steps. Here each vectorized step decodes the even
columns of a row together with the odd columns of the row above (coarsest level first, one step
more than the level has rows: 1 023 steps for 768x512 with 7 levels), and the context of a latent
(27 numbers) is:

- the 10 latents of the two rows above it in its own level, from two columns left to two right
  (zeros outside the grid), except, for an even column, the odd columns -1 and +1 of the row
  just above, decoded in the same step (:data:`LATE_NEIGHBOURS`, zeros);
- in an odd column, the 4 latents of its own row in columns -3, -1, +1 and +3 (the even columns,
  decoded one step earlier; zeros for the latents of even columns and outside the grid), so that
  half the latents see both sides of their own row;
- the 3x3 neighbourhood of its parent in the next coarser level (zeros for the coarsest level),
  which also holds what lies below and beside it;
- a one-hot code of its phase, its (row, column) parity, i.e. where it sits under its parent.

Stream layouts 2 and 3 decoded a row in one step, without the row neighbours
(:data:`ROWS_ABOVE`); their files still decode. Against the context before them (four phase
passes per level, where a quarter of the latents saw no latent of their own level) the rows
above lowered the rate-distortion loss by about a fifth on a Kodak crop, and the row neighbours
by a few percent more (``docs/overfit.md``).

Training evaluates the float MLP on every position at once, its first layer as a convolution of
the level's four phase grids whose taps read exactly the context (:class:`Arm`); the decoder
evaluates the integer MLP (:class:`ExactArm`) row by row.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from convpress.errors import CorruptDataError
from convpress.overfit.banded import BandedSum
from convpress.overfit.fixedpoint import ONE, ExactLayer, ExactLinear, to_fixed
from convpress.overfit.laplace import LOG_SCALE_MAX, LOG_SCALE_MIN, table_index_and_base

PHASES = ((0, 0), (1, 1), (0, 1), (1, 0))
"""(row, column) parities: the order of the one-hot phase features and of the training's phase grids."""
NEIGHBOURS = tuple((dy, dx) for dy in (-2, -1) for dx in range(-2, 3))
"""Same-level context: the two rows above, five columns around."""
ROW_NEIGHBOURS = (-3, -1, 1, 3)
"""Same-row context of a latent in an odd column: the even columns around it, which the step before
its own has given (zeros for the latents of even columns)."""
COARSE_NEIGHBOURS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


@dataclass(frozen=True)
class Context:
    """What a latent's probability reads besides the rows above, its parent's neighbourhood and its phase."""

    row_neighbours: tuple[int, ...]
    """Columns (relative) of its row's even-column latents that an odd-column latent reads. With
    any, a row's odd columns are decoded one step late, together with the next row's even columns,
    which therefore do not read the two odd columns next to them in the row above
    (:data:`LATE_NEIGHBOURS`); without, a row is one step."""

    @property
    def same_level(self) -> int:
        """The features that the latents of the level being decoded give: the context's first ones."""
        return len(NEIGHBOURS) + len(self.row_neighbours)

    @property
    def size(self) -> int:
        return self.same_level + len(COARSE_NEIGHBOURS) + len(PHASES)

    def parts(self, width: int) -> list[tuple[int, slice]]:
        """(row relative to the step, columns) of each part of a level's decoding steps, in coding order.

        Step ``s`` gives row ``s`` (its even columns under row neighbours, else all), then, under row
        neighbours, the odd columns of row ``s - 1`` (a one-column level has none); a part whose
        row is outside the level is empty, so a level takes :meth:`step_count` steps.
        """
        if not self.row_neighbours:
            return [(0, slice(None))]
        return [(0, slice(0, None, 2))] + ([(-1, slice(1, None, 2))] if width > 1 else [])

    def step_count(self, height: int, width: int) -> int:
        return height + max(-delta for delta, _ in self.parts(width))


ROW_PASSES = Context(ROW_NEIGHBOURS)
"""Stream layout 4: odd columns read their row's even ones, decoded with the next row's even columns."""
ROWS_ABOVE = Context(())
"""Stream layouts 2 and 3: a row in one step."""
LATE_NEIGHBOURS = (NEIGHBOURS.index((-1, -1)), NEIGHBOURS.index((-1, 1)))
"""Features of :data:`NEIGHBOURS` that an even-column latent does not read under :data:`ROW_PASSES`:
the odd columns of the row above, decoded in the same step."""
MAX_LATENT = 2**15
"""Decoded latents beyond +-2^15 can only come from a damaged file."""
PROBABILITY_FLOOR = 2.0**-16


def _phase_of(row: int, column: int) -> int:
    return PHASES.index((row % 2, column % 2))


BAND_LATENTS = 2**15
"""Latents per band of the banded training evaluation (:mod:`convpress.overfit.banded`)."""
PHASE_GRID_CHANNELS = len(PHASES) + 1
"""Channels of :func:`phase_grids`: the four phases of a level, then the next coarser level."""
UNSHUFFLED = [2 * py + px for py, px in PHASES]
"""The ``pixel_unshuffle`` channel of each phase."""


KERNEL_COLUMNS = 4
"""Columns -1 .. 2 of the first layer's convolution on the phase grids (column 2: the row neighbour at +3)."""


@functools.cache
def _first_layer_index(context: Context) -> torch.Tensor:
    """[phase, input channel, 3, KERNEL_COLUMNS]: the context feature that each tap of the first layer's convolution reads.

    On the phase grids a same-level neighbour (dy, dx) of a phase-(py, px) latent is tap
    ``((py + dy) // 2 + 1, (px + dx) // 2 + 1)`` of the phase of its parity (rows -1 and 0,
    columns -1 to 2 for the neighbours of :data:`NEIGHBOURS` and :data:`ROW_NEIGHBOURS`, the
    latter read by the odd-column phases only), and its parent's neighbour (dy, dx) is tap
    ``(dy + 1, dx + 1)`` of the coarser level. Taps that read nothing hold ``context.size``, the
    index of a zero weight.
    """
    index = np.full((len(PHASES), PHASE_GRID_CHANNELS, 3, KERNEL_COLUMNS), context.size)
    for phase, (py, px) in enumerate(PHASES):
        same_level = list(enumerate(NEIGHBOURS))
        if context.row_neighbours and px == 0:
            same_level = [(feature, offset) for feature, offset in same_level if feature not in LATE_NEIGHBOURS]
        if px == 1:
            same_level += [(len(NEIGHBOURS) + number, (0, dx)) for number, dx in enumerate(context.row_neighbours)]
        for feature, (dy, dx) in same_level:
            ry, rx = py + dy, px + dx
            index[phase, _phase_of(ry, rx), ry // 2 + 1, rx // 2 + 1] = feature
        for feature, (dy, dx) in enumerate(COARSE_NEIGHBOURS, start=context.same_level):
            index[phase, len(PHASES), dy + 1, dx + 1] = feature
    return torch.from_numpy(index)


def phase_grids(grid: torch.Tensor, coarse: torch.Tensor | None) -> torch.Tensor:
    """[1, 5, ceil(H/2), ceil(W/2)] channels-last: the level's four phases (zero-padded) and the coarser level.

    Position (i, j) of phase (py, px) is latent (2i + py, 2j + px), and its parent is position
    (i, j) of the coarser level, so on these grids the ARM's first layer is one 3x3 convolution.
    The coarsest level gets zeros for its (absent) parent.
    """
    height, width = grid.shape
    padded = F.pad(grid, (0, width % 2, 0, height % 2))
    phases = F.pixel_unshuffle(padded[None, None], 2)[:, UNSHUFFLED]
    parent = coarse[None, None] if coarse is not None else phases.new_zeros(1, 1, *phases.shape[2:])
    return torch.cat([phases, parent], 1).contiguous(memory_format=torch.channels_last)


@functools.lru_cache(maxsize=32)
def _valid_positions(height: int, width: int) -> torch.Tensor | None:
    """[ceil(H/2), ceil(W/2) * 4]: 1 for real latents, 0 for the padding of odd sizes (None if none)."""
    if height % 2 == 0 and width % 2 == 0:
        return None
    grids = phase_grids(torch.ones(height, width), None)[0, : len(PHASES)]
    return grids.permute(1, 2, 0).reshape(grids.shape[1], -1)


def _evaluate(grids: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, *layers: torch.Tensor) -> torch.Tensor:
    """Row-padded phase grids [1, 5, h + 2, w] -> ARM outputs [h * w * 4, 2] (rows in (i, j, phase) order).

    ``weight`` and ``bias`` are the first layer as a convolution, ``layers`` the weights and
    biases of the others.
    """
    hidden = weight.shape[0] // len(PHASES)
    x = F.conv2d(F.pad(grids, (1, KERNEL_COLUMNS - 2)), weight, bias).permute(0, 2, 3, 1).reshape(-1, hidden)
    for number in range(0, len(layers), 2):
        x = F.linear(F.relu(x), layers[number], layers[number + 1])
    return x


def _band_bits(band: torch.Tensor, valid: torch.Tensor | None, *parameters: torch.Tensor) -> torch.Tensor:
    """Code length in bits of the latents of a band of row-padded phase grids (see :func:`_evaluate`)."""
    out = _evaluate(band, *parameters)
    values = band[0, : len(PHASES), 1:-1].permute(1, 2, 0).reshape(-1)
    bits = laplace_bits(values, out[:, 0], out[:, 1])
    return bits.sum() if valid is None else (bits * valid.reshape(-1)).sum()


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
    """The float MLP: context -> (mean, log-scale), trained with the latents.

    Training does not build the contexts: the first layer, a linear map of the context numbers
    (:attr:`Context.size`), is evaluated as one 3x3 convolution of the :func:`phase_grids` with ``4 * hidden``
    outputs (one set of weights per phase, gathered from the layer's weight, whose taps read only
    what that phase's context holds; the phase one-hot folds into the bias), and the other layers
    act on every latent's hidden vector. Two to three times cheaper than gathering the contexts, and
    the same function: the decoder's contexts (:class:`LevelSteps` and
    :func:`fixed_context_planes`) hold exactly what those taps read.
    """

    def __init__(self, hidden: int, context: Context = ROW_PASSES) -> None:
        super().__init__()
        self.context = context
        self.layers = nn.Sequential(
            nn.Linear(context.size, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2)
        )
        nn.init.zeros_(self.layers[-1].weight)
        nn.init.zeros_(self.layers[-1].bias)

    def _training_parameters(self) -> list[torch.Tensor]:
        """The first layer as a convolution (weight [4 * hidden, 5, 3, KERNEL_COLUMNS] channels-last, bias [4 * hidden]), then the other layers' weights and biases."""
        first = self.layers[0]
        hidden = first.weight.shape[0]
        padded = torch.cat([first.weight, first.weight.new_zeros(hidden, 1)], 1)
        weight = padded[:, _first_layer_index(self.context)].transpose(0, 1).reshape(len(PHASES) * hidden, PHASE_GRID_CHANNELS, 3, KERNEL_COLUMNS)
        bias = first.bias + first.weight[:, self.context.size - len(PHASES) :].T
        others = [p for layer in self.layers[2::2] for p in (layer.weight, layer.bias)]
        return [weight.contiguous(memory_format=torch.channels_last), bias.reshape(-1), *others]

    def forward(self, grids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`phase_grids` [1, 5, h, w] -> means and log-scales [h, w, 4] (phase last)."""
        out = _evaluate(_pad_rows(grids), *self._training_parameters())
        shape = (grids.shape[2], grids.shape[3], len(PHASES))
        return out[:, 0].reshape(shape), out[:, 1].reshape(shape)

    def bits(self, latents: list[torch.Tensor]) -> torch.Tensor:
        """Total code length in bits of the latent grids (finest first), in bands of about :data:`BAND_LATENTS`."""
        parameters = self._training_parameters()
        total = latents[0].new_zeros(())
        for level, grid in enumerate(latents):
            grids = _pad_rows(phase_grids(grid, latents[level + 1] if level + 1 < len(latents) else None))
            rows, width = grids.shape[2] - 2, grids.shape[3]
            valid = _valid_positions(*grid.shape)
            band_rows = max(1, BAND_LATENTS // (len(PHASES) * width))
            bands = [
                (top, min(top + band_rows, rows) + 2, None if valid is None else valid[top : top + band_rows])
                for top in range(0, rows, band_rows)
            ]
            total = total + BandedSum.apply(_band_bits, bands, len(PHASES) * width, grids, *parameters)
        return total


def _pad_rows(grids: torch.Tensor) -> torch.Tensor:
    """A zero row above and below (the first layer's convolution pads columns itself)."""
    return F.pad(grids, (0, 0, 1, 1)).contiguous(memory_format=torch.channels_last)


class ExactArm:
    """The integer twin of :class:`Arm`, built from its quantized parameters."""

    def __init__(self, layers: list[ExactLayer], context: Context = ROW_PASSES) -> None:
        self.context = context
        last = len(layers) - 1
        self.layers = [
            ExactLinear(layer.weight, layer.bias, layer.weight_bits, layer.bias_bits, "ARM", relu=number < last)
            for number, layer in enumerate(layers)
        ]

    def __call__(self, contexts: torch.Tensor, partial: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-point contexts [context size, N] -> fixed-point means and log-scales (int64 [N]).

        With ``partial``, a row of :meth:`level_partial_sums`, ``contexts`` holds only the
        same-level features (the first ``context.same_level``).
        """
        x = self.layers[0](contexts, partial)
        for layer in self.layers[1:]:
            x = layer(x)
        out = x.numpy().astype(np.int64)
        return out[0], out[1]

    def level_partial_sums(self, planes: torch.Tensor) -> torch.Tensor:
        """[H, hidden, W]: the first layer's sums over a level's :func:`fixed_context_planes`, once per level."""
        return self.layers[0].partial_sum(planes, self.context.same_level)


def fixed_context_planes(coarse: torch.Tensor | None, height: int, width: int) -> torch.Tensor:
    """Fixed-point [H, 13, W]: the parent and phase features of every latent of a level, row-major.

    They do not depend on the level's own latents, so the decoder computes them once per level
    rather than once per row. ``coarse`` is the fixed-point next coarser level (None for the
    coarsest level, whose parents are zeros).
    """
    rows, columns = torch.arange(height) // 2, torch.arange(width) // 2
    if coarse is None:
        parents = torch.zeros(height, len(COARSE_NEIGHBOURS), width, dtype=torch.float64)
    else:
        padded = F.pad(coarse, (1, 1, 1, 1))
        parents = torch.stack([padded[rows + 1 + dy][:, columns + 1 + dx] for dy, dx in COARSE_NEIGHBOURS], 1)
    phase = torch.tensor([[_phase_of(row, column) for column in range(2)] for row in range(2)])
    phase = phase.repeat(-(-height // 2), -(-width // 2))[:height, :width]
    one_hot = (phase[:, None] == torch.arange(len(PHASES))[:, None]).to(parents.dtype) * ONE
    return torch.cat([parents, one_hot], 1)


Coder = Callable[[np.ndarray | None, np.ndarray], np.ndarray]
"""``coder(values, table_index)`` codes ``values`` (encoding) or returns the decoded ones (values None)."""


def code_latents(arm: ExactArm, shapes: list[tuple[int, int]], coder: Coder, latents: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Encode (``latents`` given) or decode the latent grids, coarsest level first, one step after another.

    One procedure for both directions, so every symbol is coded with the table the decoder picks.
    Returns the integer grids (int64, finest first).
    """
    grids = [np.zeros(shape, dtype=np.int64) for shape in shapes]
    coarse = None
    for level in range(len(shapes) - 1, -1, -1):
        height, width = shapes[level]
        partial_sums = arm.level_partial_sums(fixed_context_planes(coarse, height, width))  # [H, hidden, W]
        partial_sums = partial_sums.permute(1, 0, 2).reshape(partial_sums.shape[1], -1)
        steps = LevelSteps(height, width, arm.context)
        flat = grids[level].reshape(-1)
        for step in range(steps.count):
            features, positions, buffer_positions = steps.gather(step)
            mean, log_scale = arm(features, partial_sums[:, positions])
            index, base = table_index_and_base(mean, log_scale)
            given = None if latents is None else latents[level].reshape(-1)[positions.numpy()] - base
            values = coder(given, index).astype(np.int64) + base
            if np.abs(values).max(initial=0) > MAX_LATENT:
                raise CorruptDataError("corrupt overfitted file: a decoded latent is out of range")
            flat[positions.numpy()] = values
            steps.buffer[buffer_positions] = to_fixed(torch.from_numpy(values))
        coarse = steps.grid()
    return grids


class LevelSteps:
    """A level's decoded fixed-point latents in a zero-padded buffer, and each decoding step's contexts as one gather from it.

    The buffer has 2 rows of zeros above the level and :data:`PAD_COLUMNS` columns each side, so
    every neighbour a context reads is a buffer cell; a step's parts (:meth:`Context.parts`) differ
    from the previous step's by one row, so their gather indices are computed once per level and
    shifted by a row per step.
    """

    def __init__(self, height: int, width: int, context: Context) -> None:
        self.height, self.width = height, width
        self.stride = width + 2 * PAD_COLUMNS
        self.buffer = torch.zeros((height + 2) * self.stride, dtype=torch.float64)
        self.parts = [_part(columns, delta, width, self.stride, context) for delta, columns in context.parts(width)]
        self.count = context.step_count(height, width)
        self._joined: dict[tuple[int, ...], tuple[torch.Tensor, ...]] = {}

    def gather(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The same-level features [same_level, n] of ``step``, its latents' positions in the level (row-major) and in the buffer."""
        active = tuple(number for number, part in enumerate(self.parts) if 0 <= step + part[0] < self.height)
        if active not in self._joined:
            self._joined[active] = tuple(torch.cat([self.parts[n][k] for n in active], -1) for k in range(1, 5))
        features, mask, positions, buffer_positions = self._joined[active]
        return self.buffer[features + step * self.stride] * mask, positions + step * self.width, buffer_positions + step * self.stride

    def grid(self) -> torch.Tensor:
        """The decoded level, fixed point [H, W]."""
        return self.buffer.view(self.height + 2, self.stride)[2:, PAD_COLUMNS : PAD_COLUMNS + self.width]


PAD_COLUMNS = 3
"""Zero columns each side of a level's decoding buffer: the farthest column a context reads."""


def _part(columns: slice, delta: int, width: int, stride: int, context: Context) -> tuple:
    """(row delta, feature indices [same_level, n], mask, level positions, buffer positions) of a part, shifted to step 0.

    A part of the row before the step's has negative indices at step 0; it only runs from step 1 on.
    """
    cols = torch.arange(width)[columns]
    row = delta + 2  # the part's row in the buffer at step 0
    offsets = list(NEIGHBOURS) + [(0, dx) for dx in context.row_neighbours]
    features = torch.stack([(row + dy) * stride + PAD_COLUMNS + cols + dx for dy, dx in offsets])
    mask = torch.ones(len(offsets), cols.numel(), dtype=torch.float64)
    if context.row_neighbours and columns.start == 0:
        mask[list(LATE_NEIGHBOURS)] = 0
        mask[len(NEIGHBOURS) :] = 0
    return delta, features, mask, cols + delta * width, row * stride + PAD_COLUMNS + cols
