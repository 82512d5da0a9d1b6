"""Metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from imagegen import natural_like
from PIL import Image
from pytorch_msssim import ms_ssim as reference_ms_ssim

from convpress.errors import UnsupportedImageError
from convpress.evaluation import metrics


def offset(image: Image.Image, delta: tuple[int, ...]) -> Image.Image:
    """``image`` with ``delta`` added per channel (no clipping happens on natural_like's range)."""
    array = np.asarray(image).astype(np.int16) + np.array(delta, dtype=np.int16)
    assert array.min() >= 0 and array.max() <= 255
    return Image.fromarray(array.astype(np.uint8), image.mode)


@pytest.fixture
def mid_gray_rgb() -> Image.Image:
    return Image.fromarray(np.clip(natural_like(64, 96, 3), 20, 230).astype(np.uint8), "RGB")


def test_bits_per_pixel_counts_every_byte_per_pixel():
    assert metrics.bits_per_pixel(1000, 100, 80) == 1.0
    assert metrics.bits_per_pixel(1, 2, 2) == 2.0


def test_compression_ratio_is_raw_size_over_encoded_size(rgb_image, gray_image):
    assert metrics.compression_ratio(rgb_image, 96 * 64) == 3.0
    assert metrics.compression_ratio(gray_image, 96 * 64) == 1.0


def test_mse_and_psnr_of_a_constant_offset(mid_gray_rgb):
    shifted = offset(mid_gray_rgb, (3, 3, 3))
    assert metrics.mse(mid_gray_rgb, shifted) == 9.0
    assert metrics.psnr_rgb(mid_gray_rgb, shifted) == pytest.approx(10 * math.log10(255**2 / 9), abs=1e-12)


def test_mse_averages_over_all_three_channels(mid_gray_rgb):
    assert metrics.mse(mid_gray_rgb, offset(mid_gray_rgb, (6, 0, 0))) == pytest.approx(36 / 3)


def test_psnr_y_uses_bt601_luma(mid_gray_rgb):
    expected_mse = (0.299 * 10) ** 2
    assert metrics.psnr_y(mid_gray_rgb, offset(mid_gray_rgb, (10, 0, 0))) == pytest.approx(
        10 * math.log10(255**2 / expected_mse)
    )
    # An error that keeps luma constant is invisible to PSNR-Y but not to PSNR-RGB.
    array = np.asarray(mid_gray_rgb).astype(np.float64)
    balanced = Image.fromarray(np.round(array + [0.587 * 10, -0.299 * 10, 0]).astype(np.uint8), "RGB")
    assert metrics.psnr_y(mid_gray_rgb, balanced) > 45
    assert metrics.psnr_rgb(mid_gray_rgb, balanced) < 40


def test_identical_images_have_infinite_psnr(rgb_image):
    assert metrics.psnr_rgb(rgb_image, rgb_image.copy()) == math.inf
    assert metrics.psnr_y(rgb_image, rgb_image.copy()) == math.inf


def test_gray_compares_with_its_rgb_decoding_and_alpha_is_ignored(gray_image, rgb_image):
    assert metrics.psnr_rgb(gray_image, gray_image.convert("RGB")) == math.inf
    shifted_gray = offset(Image.fromarray(np.clip(np.asarray(gray_image), 20, 230), "L"), (4,))
    base_gray = Image.fromarray(np.clip(np.asarray(gray_image), 20, 230), "L")
    assert metrics.mse(base_gray, shifted_gray) == 16.0
    assert metrics.mse(base_gray, shifted_gray.convert("RGB")) == 16.0
    rgba = rgb_image.convert("RGBA")
    transparent = rgba.copy()
    transparent.putalpha(0)
    assert metrics.psnr_rgb(rgba, transparent) == math.inf


def test_different_sizes_are_refused(rgb_image):
    with pytest.raises(UnsupportedImageError, match="different sizes"):
        metrics.psnr_rgb(rgb_image, rgb_image.resize((10, 10)))


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.fromarray(natural_like(176, 200, 3, seed=5), "RGB")


def test_ms_ssim_of_identical_images_is_one(photo):
    assert metrics.ms_ssim(photo, photo.copy()) == pytest.approx(1.0, abs=1e-6)


def test_ms_ssim_is_pytorch_msssim_on_8bit_rgb(photo):
    noisy = Image.fromarray(
        np.clip(np.asarray(photo) + np.random.default_rng(1).normal(0, 8, (176, 200, 3)), 0, 255).astype(np.uint8)
    )
    as_tensor = lambda image: torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)[None].float()  # noqa: E731
    expected = float(reference_ms_ssim(as_tensor(photo), as_tensor(noisy), data_range=255))
    value = metrics.ms_ssim(photo, noisy)
    assert value == pytest.approx(expected, abs=1e-7)
    assert 0.8 < value < 0.999


def test_ms_ssim_of_gray_equals_that_of_the_gray_replicated_to_rgb(photo):
    gray = photo.convert("L")
    blurred = gray.resize((100, 88)).resize(gray.size)
    assert metrics.ms_ssim(gray, blurred) == pytest.approx(
        metrics.ms_ssim(gray.convert("RGB"), blurred.convert("RGB")), abs=1e-6
    )


def test_ms_ssim_is_nan_below_its_minimum_size(rgb_image):
    assert min(rgb_image.size) < metrics.MS_SSIM_MIN_SIDE
    assert math.isnan(metrics.ms_ssim(rgb_image, rgb_image))
    just_big_enough = Image.fromarray(natural_like(161, 170, 3), "RGB")
    assert metrics.ms_ssim(just_big_enough, just_big_enough) == pytest.approx(1.0, abs=1e-6)


def test_distortion_matches_the_single_metrics(photo):
    decoded = photo.resize((50, 44)).resize(photo.size)
    scores = metrics.distortion(photo, decoded)
    assert scores == {
        "psnr-rgb": metrics.psnr_rgb(photo, decoded),
        "psnr-y": metrics.psnr_y(photo, decoded),
        "ms-ssim": pytest.approx(metrics.ms_ssim(photo, decoded), abs=1e-9),
    }
    assert math.isnan(metrics.distortion(photo, decoded, with_ms_ssim=False)["ms-ssim"])


def test_ms_ssim_db():
    assert metrics.ms_ssim_db(0.99) == pytest.approx(20.0)
    assert metrics.ms_ssim_db(0.9) == pytest.approx(10.0)
    assert metrics.ms_ssim_db(1.0) == math.inf


def test_timed_and_best_time_return_the_result_and_a_duration():
    calls = []
    result, seconds = metrics.timed(lambda x: calls.append(x) or x * 2, 21)
    assert result == 42 and seconds >= 0 and calls == [21]
    result, seconds = metrics.best_time(lambda: calls.append("again") or "done", repeats=3)
    assert result == "done" and seconds >= 0 and calls.count("again") == 3
    with pytest.raises(ValueError, match="repeats"):
        metrics.best_time(lambda: None, repeats=0)
