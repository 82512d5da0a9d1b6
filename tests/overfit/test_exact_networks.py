"""The decoder's integer networks: the contexts it builds, and agreement with the float networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convpress.overfit.arm import PHASES, Arm, ExactArm, laplace_bits, phase_context, phase_grids
from convpress.overfit.fixedpoint import ONE, to_fixed
from convpress.overfit.latents import ExactUpsampler, Upsampler, level_shapes
from convpress.overfit.synthesis import ExactSynthesis, Synthesis

BITS = 8


def _quantize(module: torch.nn.Module, bits: int = BITS) -> None:
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.round(parameter * 2**bits) / 2**bits)


def _integer_layers(module: torch.nn.Module, bits: int = BITS) -> list[tuple[torch.Tensor, torch.Tensor]]:
    layers = [m for m in module.modules() if hasattr(m, "weight") and hasattr(m, "bias")]
    return [(torch.round(m.weight.detach().double() * 2**bits), torch.round(m.bias.detach().double() * 2**bits)) for m in layers]


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


def _decoder_contexts(fine: torch.Tensor, coarse: torch.Tensor | None) -> list[tuple[int, torch.Tensor]]:
    """(phase, fixed-point contexts [CONTEXT_SIZE, n]) the decoder builds, earlier phases filled in."""
    height, width = fine.shape
    decoded = torch.zeros(height, width, dtype=torch.float64)
    contexts = []
    for phase, (py, px) in enumerate(PHASES):
        if py >= height or px >= width:
            continue
        contexts.append((phase, phase_context(decoded, None if coarse is None else to_fixed(coarse), phase)))
        decoded[py::2, px::2] = to_fixed(fine[py::2, px::2])
    return contexts


@pytest.mark.parametrize(("height", "width"), [(9, 14), (1, 5), (8, 8), (7, 2)])
def test_training_evaluates_the_mlp_on_the_decoders_contexts(height, width):
    """Training's convolution gives, for every latent, the MLP of the context the decoder will build."""
    arm = _random_arm(0)
    fine, coarse = _grids(height, width, 2)
    with torch.no_grad():
        reference_bits = 0.0
        for grid, parent in ((fine, coarse), (coarse, None)):
            mean, log_scale = arm(phase_grids(grid, parent))
            for phase, contexts in _decoder_contexts(grid, parent):
                py, px = PHASES[phase]
                rows, columns = grid[py::2, px::2].shape
                expected = arm.layers((contexts.T / ONE).float())
                assert torch.allclose(mean[:rows, :columns, phase].reshape(-1), expected[:, 0], atol=1e-5)
                assert torch.allclose(log_scale[:rows, :columns, phase].reshape(-1), expected[:, 1], atol=1e-5)
                values = grid[py::2, px::2].reshape(-1)
                reference_bits += float(laplace_bits(values, expected[:, 0], expected[:, 1]).sum())
        assert float(arm.bits([fine, coarse])) == pytest.approx(reference_bits, rel=1e-5)


def test_exact_arm_matches_the_float_arm():
    arm = _random_arm(1)
    fine, coarse = _grids(16, 24, 2, seed=2)
    with torch.no_grad():
        mean, log_scale = arm(phase_grids(fine, coarse))
    exact = ExactArm(_integer_layers(arm), BITS, BITS)
    for phase, contexts in _decoder_contexts(fine, coarse):
        exact_mean, exact_log_scale = exact(contexts)
        assert np.abs(exact_mean / ONE - mean[..., phase].double().numpy().reshape(-1)).max() < 8 / ONE
        assert np.abs(exact_log_scale / ONE - log_scale[..., phase].double().numpy().reshape(-1)).max() < 8 / ONE
    assert np.abs(mean.numpy()).max() > 1  # not a trivially small output


def test_laplace_bits_are_minus_log2_of_the_interval_probability():
    values = torch.tensor([0.0, 0.3, 1.0, -4.0, 7.0, 2.0])
    mean = torch.tensor([0.0, 0.1, -0.2, 0.5, 0.0, 2.2])
    log_scale = torch.tensor([0.0, -2.0, 1.0, 0.3, -3.0, 2.0])
    laplace = torch.distributions.Laplace(mean.double(), torch.exp(log_scale.double()))
    probability = laplace.cdf(values.double() + 0.5) - laplace.cdf(values.double() - 0.5)
    expected = -torch.log2(probability.clamp(min=2.0**-16))
    assert torch.allclose(laplace_bits(values, mean, log_scale).double(), expected, atol=1e-4)


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
    got = ExactSynthesis(_integer_layers(synthesis), BITS, BITS)(stack) / ONE
    assert got.shape == expected.shape == (3, 19, 30)
    assert (got - expected).abs().max() < 1e-2
    assert expected.abs().max() > 1
