import pytest
import torch

from convpress.models.gain import GainUnits, quality_to_level


def test_gains_at_integer_levels_are_the_learned_vectors():
    units = GainUnits(4, (0.01, 0.02, 0.04))
    encoder, decoder = units.gains(torch.tensor([0.0, 1.0, 2.0]))
    assert torch.allclose(encoder[:, :, 0, 0], torch.exp(units.log_encoder_gain))
    assert torch.allclose(decoder[:, :, 0, 0], torch.exp(units.log_decoder_gain))


def test_interpolation_is_geometric_and_lambda_monotone():
    units = GainUnits(2, (0.01, 0.04))
    encoder, _ = units.gains(torch.tensor([0.5]))
    low, high = torch.exp(units.log_encoder_gain)
    assert torch.allclose(encoder[0, :, 0, 0], torch.sqrt(low * high))
    lambdas = units.lmbda(torch.linspace(0, 1, 5))
    assert torch.allclose(lambdas[2], torch.tensor(0.02))
    assert bool((lambdas[1:] > lambdas[:-1]).all())


def test_higher_rate_levels_start_with_larger_gains():
    units = GainUnits(3)
    encoder, _ = units.gains(torch.arange(8).float())
    assert bool((encoder[1:, 0] > encoder[:-1, 0]).all())


def test_quality_scale_maps_linearly_onto_levels():
    assert quality_to_level(1, 8) == 0 and quality_to_level(100, 8) == 7
    assert quality_to_level(50.5, 8) == 3.5 and quality_to_level(0, 8) == 0 and quality_to_level(150, 8) == 7


def test_retargeted_gains_interpolate_inside_and_extend_the_outer_lines():
    from convpress.models.gain import retarget_log_gains

    old = torch.tensor([0.01, 0.04, 0.16])
    table = torch.tensor([[0.0, 1.0], [1.0, 1.0], [3.0, 1.0]])
    new = torch.tensor([0.0025, 0.02, 0.04, 0.32])
    result = retarget_log_gains(old, table, new)
    # Below and above the trained lambdas the outer segments' lines go on (+1 per factor 4 below, +2 above).
    torch.testing.assert_close(result, torch.tensor([[-1.0, 1.0], [0.5, 1.0], [1.0, 1.0], [4.0, 1.0]]))


def test_level_of_a_lambda_inverts_the_interpolation():
    gain = GainUnits(4)
    for level in (0.0, 2.5, 3.5, 7.0):
        assert gain.level_of(float(gain.lmbda(torch.tensor([level])))) == pytest.approx(level, abs=1e-5)
    assert gain.level_of(1e-9) == 0.0 and gain.level_of(10.0) == 7.0
