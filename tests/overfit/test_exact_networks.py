"""The decoder's integer networks: the contexts it builds, and agreement with the float networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch.nn import functional as F

from convpress.overfit import arm as arm_module
from convpress.overfit import synthesis as synthesis_module
from convpress.overfit.arm import (
    LATE_NEIGHBOURS,
    NEIGHBOURS,
    PHASES,
    ROW_PASSES,
    ROWS_ABOVE,
    Arm,
    Context,
    ExactArm,
    fixed_context_planes,
    laplace_bits,
    phase_grids,
    LevelSteps,
)
from convpress.overfit.fixedpoint import ONE, ExactLayer, to_fixed
from convpress.overfit.latents import ExactUpsampler, Upsampler, level_shapes
from convpress.overfit.synthesis import ExactSynthesis, Synthesis

BITS = 8


def same_level_contexts(grid: torch.Tensor, row: int, columns: slice, context: Context) -> torch.Tensor:
    """Fixed-point same-level features [context.same_level, n] of the latents of ``row`` in ``columns`` (a part of a decoding step, :meth:`Context.parts`).

    The reference that the decoder's one-gather-per-step contexts (:class:`LevelSteps`) are checked
    against, written from the definition of the context. ``grid`` holds the level's latents decoded by the earlier steps; what this step decodes or
    later ones will (the odd columns of the row above, for even columns under
    :data:`ROW_PASSES`) is not read. The latents of even columns have zeros for their row neighbours.
    """
    width = grid.shape[1]
    above = F.pad(grid[max(row - 2, 0) : row], (2, 2, 2 - min(row, 2), 0))
    above = above.unfold(1, 5, 1).permute(0, 2, 1).reshape(len(NEIGHBOURS), width)[:, columns]
    if not context.row_neighbours:
        return above
    parity = columns.start
    if parity == 0:
        above = above.clone()
        above[list(LATE_NEIGHBOURS)] = 0
    return torch.cat([above, _row_neighbours(grid[row, ::2], above.shape[1], parity, context)])


def _row_neighbours(even: torch.Tensor, count: int, parity: int, context: Context) -> torch.Tensor:
    """[len(context.row_neighbours), count]: the row neighbours of the ``count`` latents of columns of ``parity``.

    An odd column ``2 k + 1`` reads the even column ``2 k + 1 + dx``, i.e. ``even[k + (dx + 1) / 2]``
    (zero outside the row); even columns read nothing (zeros).
    """
    if parity == 0:
        return even.new_zeros(len(context.row_neighbours), count)
    offsets = torch.tensor([(dx + 1) // 2 for dx in context.row_neighbours])
    low, high = -int(offsets.min()), int(offsets.max())
    padded = F.pad(even, (low, high))
    return padded[torch.arange(count)[None] + offsets[:, None] + low]


def _quantize(module: torch.nn.Module, bits: int = BITS) -> None:
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.round(parameter * 2**bits) / 2**bits)


def _integer_layers(module: torch.nn.Module, bits: int = BITS) -> list[ExactLayer]:
    layers = [m for m in module.modules() if hasattr(m, "weight") and hasattr(m, "bias")]
    return [
        ExactLayer(torch.round(m.weight.detach().double() * 2**bits), torch.round(m.bias.detach().double() * 2**bits), bits, bits)
        for m in layers
    ]


def _grids(height: int, width: int, levels: int, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(-4, 5, shape, generator=generator).float() for shape in level_shapes(height, width, levels)]


def _random_arm(seed: int) -> Arm:
    torch.manual_seed(seed)
    arm = Arm(16)
    for layer in arm.layers:
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.normal_(layer.weight, std=0.4)
            torch.nn.init.normal_(layer.bias, std=0.4)
    _quantize(arm)
    return arm


def row_contexts(grid: torch.Tensor, planes: torch.Tensor, row: int) -> torch.Tensor:
    """The whole context [context size, width] of a row's latents, from the decoder's parts, on a decoded ``grid``."""
    same_level = torch.zeros(ROW_PASSES.same_level, grid.shape[1], dtype=torch.float64)
    for parity in range(min(2, grid.shape[1])):
        columns = slice(parity, None, 2)
        same_level[:, columns] = same_level_contexts(grid, row, columns, ROW_PASSES)
    return torch.cat([same_level, planes[row]])


def _decoder_contexts(fine: torch.Tensor, coarse: torch.Tensor | None) -> list[torch.Tensor]:
    """Fixed-point contexts [context size, width] of each row, gathered in the decoder's steps.

    The latents not decoded yet hold garbage: the context must not read them.
    """
    decoded = torch.full(fine.shape, 99.0 * ONE, dtype=torch.float64)
    planes = fixed_context_planes(None if coarse is None else to_fixed(coarse), *fine.shape)
    contexts = [torch.zeros(ROW_PASSES.size, fine.shape[1], dtype=torch.float64) for _ in range(fine.shape[0])]
    height, width = fine.shape
    for step in range(ROW_PASSES.step_count(height, width)):
        parts = [(step + delta, columns) for delta, columns in ROW_PASSES.parts(width) if 0 <= step + delta < height]
        for row, columns in parts:
            contexts[row][:, columns] = torch.cat([same_level_contexts(decoded, row, columns, ROW_PASSES), planes[row][:, columns]])
        for row, columns in parts:
            decoded[row, columns] = to_fixed(fine[row, columns])
    return contexts


def _by_position(phase_output: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The ARM's per-phase output [ceil(H/2), ceil(W/2), 4] rearranged as a [H, W] grid."""
    grid = torch.empty(height, width, dtype=phase_output.dtype)
    for phase, (py, px) in enumerate(PHASES):
        rows, columns = grid[py::2, px::2].shape
        grid[py::2, px::2] = phase_output[:rows, :columns, phase]
    return grid


@pytest.mark.parametrize(("height", "width"), [(9, 14), (1, 5), (8, 8), (7, 2), (3, 1)])
def test_training_evaluates_the_mlp_on_the_decoders_contexts(height, width):
    """Training's convolution gives, for every latent, the MLP of the context the decoder will build."""
    arm = _random_arm(0)
    fine, coarse = _grids(height, width, 2)
    with torch.no_grad():
        reference_bits = 0.0
        for grid, parent in ((fine, coarse), (coarse, None)):
            mean, log_scale = arm(phase_grids(grid, parent))
            mean, log_scale = (_by_position(x, *grid.shape) for x in (mean, log_scale))
            for row, contexts in enumerate(_decoder_contexts(grid, parent)):
                expected = arm.layers((contexts.T / ONE).float())
                assert torch.allclose(mean[row], expected[:, 0], atol=1e-5)
                assert torch.allclose(log_scale[row], expected[:, 1], atol=1e-5)
                reference_bits += float(laplace_bits(grid[row], expected[:, 0], expected[:, 1]).sum())
        assert float(arm.bits([fine, coarse])) == pytest.approx(reference_bits, rel=1e-5)


def test_row_contexts_hold_the_rows_above_the_parents_and_the_phase():
    fine = torch.arange(1.0, 1 + 4 * 6).reshape(4, 6)
    coarse = torch.arange(-1.0, -1 - 2 * 3, -1).reshape(2, 3)
    planes = fixed_context_planes(to_fixed(coarse), 4, 6)
    contexts = row_contexts(to_fixed(fine), planes, 2) / ONE
    column = 3  # latent (2, 3): phase (0, 1), parent (1, 1)
    assert contexts[:10, column].tolist() == [2, 3, 4, 5, 6, 8, 9, 10, 11, 12]
    assert contexts[10:14, column].tolist() == [13, 15, 17, 0]  # the row's even columns 0, 2, 4 (6 is outside)
    assert contexts[14:23, column].tolist() == [-1, -2, -3, -4, -5, -6, 0, 0, 0]
    assert contexts[23:, column].tolist() == [0, 0, 1, 0]
    even = contexts[:, 2]  # latent (2, 2): the odd columns of the row above are decoded in its step
    assert even[:14].tolist() == [1, 2, 3, 4, 5, 7, 0, 9, 0, 11] + [0, 0, 0, 0]
    corner = row_contexts(to_fixed(fine), planes, 0)[:, 0] / ONE  # latent (0, 0): nothing above, an even column
    assert corner.tolist() == [0] * 14 + [0, 0, 0, 0, -1, -2, 0, -4, -5] + [1, 0, 0, 0]


def test_exact_arm_matches_the_float_arm():
    arm = _random_arm(1)
    fine, coarse = _grids(16, 24, 2, seed=2)
    with torch.no_grad():
        mean, log_scale = (_by_position(x, 16, 24) for x in arm(phase_grids(fine, coarse)))
    exact = ExactArm(_integer_layers(arm))
    for row, contexts in enumerate(_decoder_contexts(fine, coarse)):
        exact_mean, exact_log_scale = exact(contexts)
        assert np.abs(exact_mean / ONE - mean[row].double().numpy()).max() < 8 / ONE
        assert np.abs(exact_log_scale / ONE - log_scale[row].double().numpy()).max() < 8 / ONE
    assert np.abs(mean.numpy()).max() > 1  # not a trivially small output


def test_exact_arm_split_at_the_same_level_features_gives_the_same_bits():
    """The decoder sums the parent and phase features once per level: no result may change."""
    exact = ExactArm(_integer_layers(_random_arm(4)))
    fine, coarse = _grids(10, 13, 2, seed=6)
    planes = fixed_context_planes(to_fixed(coarse), 10, 13)
    partial_sums = exact.level_partial_sums(planes)
    for row in range(10):
        whole = exact(row_contexts(to_fixed(fine), planes, row))
        for columns in (slice(0, None, 2), slice(1, None, 2)):
            split = exact(same_level_contexts(to_fixed(fine), row, columns, ROW_PASSES), partial_sums[row][:, columns])
            assert all(np.array_equal(w[columns], s) for w, s in zip(whole, split))


def test_laplace_bits_are_minus_log2_of_the_interval_probability():
    values = torch.tensor([0.0, 0.3, 1.0, -4.0, 7.0, 2.0])
    mean = torch.tensor([0.0, 0.1, -0.2, 0.5, 0.0, 2.2])
    log_scale = torch.tensor([0.0, -2.0, 1.0, 0.3, -3.0, 2.0])
    laplace = torch.distributions.Laplace(mean.double(), torch.exp(log_scale.double()))
    probability = laplace.cdf(values.double() + 0.5) - laplace.cdf(values.double() - 0.5)
    expected = -torch.log2(probability.clamp(min=2.0**-16))
    assert torch.allclose(laplace_bits(values, mean, log_scale).double(), expected, atol=1e-4)


def _reference_bits(values: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """-log2 of the Laplace probability of [v - 1/2, v + 1/2], as a difference of CDFs (float64, differentiable)."""
    laplace = torch.distributions.Laplace(mean, torch.exp(log_scale))
    return -torch.log2(laplace.cdf(values + 0.5) - laplace.cdf(values - 0.5))


def _reference_level_bits(arm: Arm, grid: torch.Tensor, coarse: torch.Tensor | None) -> torch.Tensor:
    """A level's bits from explicitly gathered contexts (unfold), differentiable by autograd."""
    height, width = grid.shape
    phase = torch.tensor([[PHASES.index((r % 2, c % 2)) for c in range(width)] for r in range(height)]).reshape(-1)
    neighbours = F.unfold(grid[None, None], 5, padding=2)[0][:10]  # the two rows above
    row = F.unfold(grid[None, None], (1, 7), padding=(0, 3))[0][[0, 2, 4, 6]]  # columns -3, -1, 1, 3
    row = row * (torch.arange(width) % 2).repeat(height)  # read by the odd columns only
    neighbours = neighbours.clone()
    neighbours[[6, 8]] *= (torch.arange(width) % 2).repeat(height)  # above-left and above-right: odd columns only
    if coarse is None:
        parents = grid.new_zeros(9, height * width)
    else:
        parents = F.unfold(coarse[None, None], 3, padding=1)[0].view(9, *coarse.shape)
        parents = parents.repeat_interleave(2, 1).repeat_interleave(2, 2)[:, :height, :width].reshape(9, -1)
    contexts = torch.cat([neighbours, row, parents, F.one_hot(phase, 4).T.to(grid.dtype)])
    out = arm.layers(contexts.T)
    return _reference_bits(grid.reshape(-1), out[:, 0], out[:, 1]).sum()


def test_banded_arm_gradients_match_autograd_of_explicit_contexts(monkeypatch):
    """Rate and gradients (latents and every ARM parameter) of the banded convolutional evaluation."""
    monkeypatch.setattr(arm_module, "BAND_LATENTS", 24)  # several bands per level
    arm = _random_arm(3).double()
    with torch.no_grad():
        arm.layers[-1].weight.mul_(0.1)  # keep log-scales inside the table range: no clamp is active
    latents = [(g * 0.7 + torch.rand_like(g)).double().requires_grad_() for g in _grids(11, 14, 3, seed=5)]
    parameters = list(arm.parameters())
    reference = sum(_reference_level_bits(arm, g, latents[i + 1] if i + 1 < len(latents) else None) for i, g in enumerate(latents))
    expected = torch.autograd.grad(reference, latents + parameters)
    bits = arm.bits(latents)
    got = torch.autograd.grad(bits, latents + parameters)
    assert float(bits.detach()) == pytest.approx(float(reference.detach()), rel=1e-9)
    for g, e in zip(got, expected):
        assert torch.allclose(g, e, atol=1e-8)


def test_exact_upsampling_and_synthesis_match_float():
    torch.manual_seed(3)
    upsampler, synthesis = Upsampler(4), Synthesis(4, 8, 3)
    with torch.no_grad():
        upsampler.taps.add_(torch.randn_like(upsampler.taps) * 0.05)
        for parameter in synthesis.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.3)
    _quantize(upsampler)
    _quantize(synthesis)
    grids = _grids(19, 30, 4, seed=4)
    with torch.no_grad():
        expected = synthesis(upsampler(grids))[0].double()
    stack = ExactUpsampler(torch.round(upsampler.taps.detach().double() * 2**BITS), BITS)([to_fixed(g) for g in grids])
    got = ExactSynthesis(_integer_layers(synthesis))(stack) / ONE
    assert got.shape == expected.shape == (3, 19, 30)
    assert (got - expected).abs().max() < 1e-2
    assert expected.abs().max() > 1


def test_banded_squared_error_and_gradients_match_the_whole_image(monkeypatch):
    """Bands with halos give the whole image's squared error and gradients (stack and every parameter)."""
    monkeypatch.setattr(synthesis_module, "BAND_PIXELS", 40)  # 3-row bands on a 13-pixel-wide image
    torch.manual_seed(6)
    synthesis = Synthesis(4, 8, 3).double()
    with torch.no_grad():
        for parameter in synthesis.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.3)
    stack = torch.randn(1, 4, 11, 13, dtype=torch.float64).contiguous(memory_format=torch.channels_last).requires_grad_()
    target = torch.rand(1, 3, 11, 13, dtype=torch.float64)
    inputs = [stack, *synthesis.parameters()]
    whole = (synthesis(stack) - target).square().sum()
    expected = torch.autograd.grad(whole, inputs)
    banded = synthesis.squared_error(stack, target)
    got = torch.autograd.grad(banded, inputs)
    assert float(banded.detach()) == pytest.approx(float(whole.detach()), rel=1e-12)
    for g, e in zip(got, expected):
        assert torch.allclose(g, e, atol=1e-10)


@pytest.mark.parametrize("context", [ROW_PASSES, ROWS_ABOVE])
@pytest.mark.parametrize(("height", "width"), [(9, 14), (1, 5), (7, 1), (3, 2)])
def test_each_decoding_step_gathers_the_contexts_of_its_latents(context, height, width):
    """The decoder's one-gather-per-step contexts equal :func:`same_level_contexts` of every latent it decodes."""
    grid = to_fixed(torch.randint(-4, 5, (height, width), generator=torch.Generator().manual_seed(3)).double())
    steps = LevelSteps(height, width, context)
    decoded = 0
    for step in range(steps.count):
        features, positions, buffer_positions = steps.gather(step)
        for number, (row, column) in enumerate(zip((positions // width).tolist(), (positions % width).tolist())):
            columns = slice(column % 2, None, 2) if context.row_neighbours else slice(None)
            expected = same_level_contexts(grid, row, columns, context)[:, column // 2 if context.row_neighbours else column]
            assert torch.equal(features[:, number], expected)
        steps.buffer[buffer_positions] = grid.reshape(-1)[positions]
        decoded += positions.numel()
    assert decoded == height * width and torch.equal(steps.grid(), grid)
