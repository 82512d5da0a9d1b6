"""Encoder-side latent refinement: annealed rounding, a lower loss than the amortized latents, limits."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from convpress.deadline import deadline
from convpress.errors import DeadlineExceededError, UnsupportedImageError
from convpress.models.refinement import _rounded_loss, annealed_round, refine_latents
from convpress.zoo import model_from_config
from imagegen import natural_like


@pytest.fixture(scope="module")
def tiny(tiny_codec_model):
    return tiny_codec_model


@pytest.fixture(scope="module")
def image():
    return torch.from_numpy(natural_like(64, 80, 3, 5)).permute(2, 0, 1)[None].float() / 255


def _latents(model, image, level):
    with torch.no_grad():
        gain, _ = model.gain.gains(torch.tensor([level]))
        return model.g_a(image) * gain


def test_annealed_rounding_is_soft_when_hot_and_rounds_when_cold():
    x = torch.tensor([2.1, 2.3, 2.7, 2.9, -1.2]).requires_grad_(True)
    cold = annealed_round(x, 0.02, torch.Generator().manual_seed(0))
    assert torch.allclose(cold, torch.round(x.detach()), atol=1e-3)
    hot = annealed_round(x, 5.0, torch.Generator().manual_seed(0))
    assert ((hot > torch.floor(x)) & (hot < torch.floor(x) + 1)).all()
    hot.sum().backward()
    assert (x.grad != 0).all()


def test_refinement_lowers_the_loss_of_the_rounded_code(tiny, image):
    latents = _latents(tiny, image, 3.0)
    before = _rounded_loss(tiny, image, latents, 3.0, (64, 80))[0]
    refined = refine_latents(tiny, image, latents, 3.0, (64, 80), iterations=30, progress=False)
    after = _rounded_loss(tiny, image, refined, 3.0, (64, 80))[0]
    assert refined.shape == latents.shape
    assert after < 0.97 * before


def test_refinement_never_returns_worse_latents_and_is_reproducible(tiny, image):
    latents = _latents(tiny, image, 5.0)
    # A step so large that every move is for the worse: the start is kept.
    kept = refine_latents(tiny, image, latents, 5.0, (64, 80), iterations=10, learning_rate=50.0, progress=False)
    assert torch.equal(kept, latents)
    first = refine_latents(tiny, image, latents, 5.0, (64, 80), iterations=10, progress=False)
    second = refine_latents(tiny, image, latents, 5.0, (64, 80), iterations=10, progress=False)
    assert torch.equal(first, second)


def test_only_the_image_area_counts(tiny, image):
    """Padding beyond the decoded size does not change the loss."""
    latents = _latents(tiny, image, 2.0)
    padded = image.clone()
    padded[:, :, 60:, :] = torch.rand(1, 3, 4, 80)
    assert np.isclose(_rounded_loss(tiny, image, latents, 2.0, (60, 80))[0],
                      _rounded_loss(tiny, padded, latents, 2.0, (60, 80))[0])


def test_refusals_are_clear(tiny, image):
    latents = _latents(tiny, image, 2.0)
    with pytest.raises(UnsupportedImageError, match="up to 4 megapixels"):
        refine_latents(tiny, image, latents, 2.0, (2001, 2000), iterations=1)
    factorized = model_from_config({"family": "factorized", "widths": [8, 16, 16], "latent": 24})
    with pytest.raises(UnsupportedImageError, match="needs a hyperprior model"):
        refine_latents(factorized, image, latents, 2.0, (64, 80), iterations=1)
    with pytest.raises(UnsupportedImageError, match="MS-SSIM needs images of at least 161 px a side, got 80x64"):
        refine_latents(tiny, image, latents, 2.0, (64, 80), iterations=1, metric="ms-ssim")


def test_an_ms_ssim_model_is_refined_for_ms_ssim(tiny):
    """The objective follows the weights' training metric, and it is not MSE's."""
    image = torch.from_numpy(natural_like(192, 192, 3, 6)).permute(2, 0, 1)[None].float() / 255
    latents = _latents(tiny, image, 3.0)

    def ms_ssim_loss(candidate):
        return _rounded_loss(tiny, image, candidate, 3.0, (192, 192), "ms-ssim")[0]

    for_ms_ssim = refine_latents(tiny, image, latents, 3.0, (192, 192), iterations=20, progress=False, metric="ms-ssim")
    for_mse = refine_latents(tiny, image, latents, 3.0, (192, 192), iterations=20, progress=False)
    assert ms_ssim_loss(for_ms_ssim) < 0.99 * ms_ssim_loss(latents)
    assert ms_ssim_loss(for_ms_ssim) < ms_ssim_loss(for_mse)


def test_refinement_stops_at_the_callers_deadline(tiny, image):
    latents = _latents(tiny, image, 3.0)
    with deadline(time.monotonic() - 1), pytest.raises(DeadlineExceededError):
        refine_latents(tiny, image, latents, 3.0, (64, 80), iterations=10**6, progress=False)
