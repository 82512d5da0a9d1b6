"""The shipped weights load and restore: real PSNR gains on a generated image."""

import pytest

import convpress
from convpress.restoration.degradations import add_gaussian_noise, jpeg_roundtrip
from convpress.restoration.inference import default_weights
from convpress.restoration.metrics import psnr

from imagegen import natural_like


def test_both_tasks_ship_weights():
    assert default_weights("denoise").is_file() and default_weights("deblock").is_file()


@pytest.mark.parametrize("channels", [1, 3])
def test_shipped_denoiser_removes_most_of_the_noise(channels):
    clean = natural_like(96, 128, channels, seed=7)
    noisy = add_gaussian_noise(clean, 25, seed=1)
    assert psnr(clean, convpress.denoise(noisy, sigma=25)) > psnr(clean, noisy) + 6


@pytest.mark.parametrize("channels", [1, 3])
def test_shipped_deblocker_beats_the_jpeg(channels):
    clean = natural_like(96, 128, channels, seed=7)
    compressed = jpeg_roundtrip(clean, 10)
    assert psnr(clean, convpress.deblock(compressed, quality=10)) > psnr(clean, compressed) + 0.5
