"""The overfit encoder's schedule and its stand-in for rounding."""

import pytest
import torch

from convpress.overfit.encoder import KUMARASWAMY, LEARNING_RATE, TEMPERATURES, stage_at
from convpress.overfit.latents import kumaraswamy_noise, soft_round, soft_round_with_noise


def test_schedule_decays_the_learning_rate_and_anneals_the_proxy_to_the_end():
    first, middle, last = stage_at(0, 1000), stage_at(500, 1000), stage_at(999, 1000)
    assert first.learning_rate == pytest.approx(LEARNING_RATE)
    assert middle.learning_rate == pytest.approx(LEARNING_RATE / 2)
    assert 0 < last.learning_rate < 1e-4 * LEARNING_RATE
    assert (first.temperature, first.noise) == pytest.approx((TEMPERATURES[0], KUMARASWAMY[0]))
    assert (last.temperature, last.noise) == pytest.approx((TEMPERATURES[1], KUMARASWAMY[1]), abs=1e-3)


def test_soft_rounding_keeps_integers_and_approaches_rounding_as_it_cools():
    integers = torch.arange(-3.0, 4.0)
    assert torch.allclose(soft_round(integers, 0.3), integers, atol=1e-6)
    x = torch.tensor([-1.3, 0.2, 0.45, 2.7])
    assert torch.allclose(soft_round(x, 0.01), torch.round(x), atol=1e-3)
    assert torch.allclose(soft_round(x, 100.0), x, atol=1e-3)


def test_kumaraswamy_noise_is_uniform_at_1_and_peaked_at_2():
    torch.manual_seed(0)
    like = torch.zeros(200_000)
    uniform, peaked = kumaraswamy_noise(like, 1.0), kumaraswamy_noise(like, 2.0)
    for noise in (uniform, peaked):
        assert float(noise.min()) > -0.5 and float(noise.max()) < 0.5
    assert float(uniform.var()) == pytest.approx(1 / 12, rel=0.02)
    assert float(peaked.var()) < 0.8 / 12


def test_the_proxy_has_a_gradient_and_stays_within_one_of_the_value():
    torch.manual_seed(0)
    x = (torch.randn(1000) * 3).requires_grad_()
    proxy = soft_round_with_noise(x, 0.1, 2.0)
    assert float((proxy - x).abs().max()) < 1.0
    proxy.sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
