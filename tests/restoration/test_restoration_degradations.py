"""Degradations and their estimation: JPEG tables and quality, Gaussian noise and its sigma."""

import io

import numpy as np
import pytest
from PIL import Image

from convpress.errors import InvalidParameterError
from convpress.restoration.degradations import (
    add_gaussian_noise,
    check_sigma,
    estimate_jpeg_quality,
    estimate_noise_sigma,
    ijg_luma_table,
    jpeg_level,
    jpeg_roundtrip,
)

from imagegen import natural_like


def _jpeg(array: np.ndarray, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    return Image.open(buffer)


def test_ijg_tables_and_quality_estimate_match_libjpeg_at_every_quality():
    array = natural_like(16, 16, 3)
    for quality in range(1, 101):
        tables = _jpeg(array, quality).quantization
        assert np.array_equal(np.asarray(tables[0]), ijg_luma_table(quality)), quality
        assert estimate_jpeg_quality(tables) == quality


def test_quality_estimate_needs_tables():
    with pytest.raises(InvalidParameterError, match="not a JPEG"):
        estimate_jpeg_quality(None)


def test_jpeg_level_is_fbcnn_quality_factor_clamped_to_training_range():
    assert jpeg_level(10) == pytest.approx(0.9)
    assert jpeg_level(1) == jpeg_level(5) == pytest.approx(0.95)
    assert jpeg_level(100) == pytest.approx(0.05)


def test_jpeg_roundtrip_keeps_shape_and_matches_pillow():
    color, gray = natural_like(48, 64, 3), natural_like(48, 64, 1)
    assert jpeg_roundtrip(gray, 30).shape == (48, 64)
    decoded = jpeg_roundtrip(color, 30)
    assert decoded.shape == (48, 64, 3)
    assert np.array_equal(decoded, np.asarray(_jpeg(color, 30).convert("RGB")))  # Pillow's default is 4:2:0 too


def test_noise_is_float_unclipped_and_seeded():
    image = np.full((64, 64), 250, np.uint8)
    noisy = add_gaussian_noise(image, 25, seed=3)
    assert noisy.dtype == np.float32 and noisy.max() > 255
    assert np.array_equal(noisy, add_gaussian_noise(image, 25, seed=3))
    assert abs(float(np.std(noisy - 250.0)) - 25) < 1


@pytest.mark.parametrize("sigma", [10, 30, 60])
@pytest.mark.parametrize("channels", [1, 3])
def test_noise_sigma_estimate_is_within_a_few_percent(sigma, channels):
    image = natural_like(160, 160, channels, seed=2).astype(np.float64)
    estimate = estimate_noise_sigma(add_gaussian_noise(image, sigma, seed=1))
    assert abs(estimate - sigma) < 0.06 * sigma + 0.5


def test_gray_noise_estimate_is_not_fooled_by_texture(bsd68_dir):
    """BSD68 test029, textured: the colour rule (Chen et al.'s tail) reads it far too noisy."""
    image = np.asarray(Image.open(bsd68_dir / "test029.png"), dtype=np.float64)
    assert abs(estimate_noise_sigma(add_gaussian_noise(image, 25, seed=29)) - 25) < 1


@pytest.mark.parametrize("bad", [-1, 75.5, "x"])
def test_bad_sigma_is_refused(bad):
    with pytest.raises(InvalidParameterError, match="sigma must be"):
        check_sigma(bad)
