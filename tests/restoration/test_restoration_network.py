"""The restoration U-Net: shapes, residual start, conditioning, receptive field bound."""

import pytest
import torch

from convpress.restoration.network import PRESETS, RestorationUNet, create_network

from restoration_helpers import random_network


def test_untrained_network_is_the_identity():
    model = create_network("restore-tiny").eval()
    x = torch.rand(2, 3, 32, 48) * 1.4 - 0.2  # values outside 0-1 pass through too
    assert torch.equal(model(x, torch.tensor([0.1, 0.2])), x)


def test_level_may_be_a_scalar_per_image_or_a_map():
    model = random_network().eval()
    x = torch.rand(1, 3, 32, 32)
    per_image = model(x, torch.tensor([0.3]))
    as_map = model(x, torch.full((1, 1, 32, 32), 0.3))
    assert per_image.shape == (1, 3, 32, 32)
    assert torch.allclose(per_image, as_map, atol=1e-6)
    assert not torch.allclose(per_image, model(x, torch.tensor([0.6])), atol=1e-4)


def test_input_sides_must_be_multiples_of_the_stride():
    model = create_network("restore-tiny")
    assert model.stride == 4
    with pytest.raises(ValueError, match="multiples of 4"):
        model(torch.rand(1, 3, 30, 32), torch.tensor([0.0]))


@pytest.mark.parametrize("config", [PRESETS["restore-unet"], {"widths": [4, 4, 4, 4], "blocks": [1, 2, 1, 3]}])
def test_receptive_radius_bounds_the_true_receptive_field(config):
    model = RestorationUNet(**config)
    for parameter in model.parameters():
        torch.nn.init.normal_(parameter, std=0.1)
    size = (2 * model.receptive_radius // 64 + 2) * 64  # a multiple of the stride
    x = torch.rand(1, 3, size, size, requires_grad=True)  # varied activations: no path is cut by dead ReLUs
    centre = size // 2
    model(x, torch.tensor([0.1]))[0, 0, centre, centre].backward()
    seen = (x.grad[0].abs().sum(0) > 0).nonzero()
    reach = int((seen - centre).abs().max())
    assert reach <= model.receptive_radius < 1.25 * reach


def test_bf16_training_mode_runs_and_returns_float32():
    model = random_network().train()
    model.bf16 = True
    output = model(torch.rand(2, 3, 16, 16), torch.tensor([0.1, 0.2]))
    assert output.dtype == torch.float32
    output.mean().backward()
    assert model.head.weight.grad is not None
