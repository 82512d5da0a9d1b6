"""convpress.denoise / convpress.deblock: inputs, outputs, levels, unclipped float input."""

import io

import numpy as np
import pytest
from PIL import Image

import convpress
from convpress.errors import InvalidParameterError, UnsupportedImageError
from convpress.restoration import inference

from restoration_helpers import SHIFT, shift_weights  # noqa: F401  (fixture)
from imagegen import natural_like


@pytest.fixture
def levels(monkeypatch):
    """Records the conditioning level of every network run (and runs the network as usual)."""
    seen = []
    real = inference.restore

    def spy(model, image, level, *args, **kwargs):
        seen.append(level)
        return real(model, image, level, *args, **kwargs)

    monkeypatch.setattr(inference, "restore", spy)
    return seen


def test_float_input_reaches_the_network_unclipped(shift_weights):
    noisy = np.array([[-20.0, 100.0], [250.0, 280.0]], np.float32)
    out = convpress.denoise(noisy, sigma=25, weights=shift_weights["denoise"])
    assert out.dtype == np.float32 and out.shape == (2, 2)
    # Clipping before the network would give SHIFT for -20; the output is clipped only at the end.
    np.testing.assert_allclose(out, [[-20 + SHIFT, 100 + SHIFT], [255, 255]], atol=1e-4)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_pil_images_keep_mode_size_and_alpha(shift_weights, mode):
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    array = natural_like(37, 50, channels)
    out = convpress.denoise(Image.fromarray(array, mode), sigma=10, weights=shift_weights["denoise"])
    assert out.mode == mode and out.size == (50, 37)
    result = np.asarray(out).astype(int)
    if mode == "RGBA":
        assert np.array_equal(result[:, :, 3], array[:, :, 3])
        result, array = result[:, :, :3], array[:, :, :3]
    assert np.array_equal(result, np.minimum(np.round(array + SHIFT), 255))


@pytest.mark.parametrize("shape", [(20, 24), (20, 24, 1), (20, 24, 3)])
def test_uint8_arrays_give_uint8_arrays_of_the_same_shape(shift_weights, shape):
    array = np.full(shape, 100, np.uint8)
    out = convpress.deblock(array, quality=40, weights=shift_weights["deblock"])
    assert out.dtype == np.uint8 and out.shape == shape and np.all(out == round(100 + SHIFT))


def test_blind_denoising_uses_the_estimated_sigma_and_given_sigma_is_used_as_is(shift_weights, levels):
    clean = natural_like(128, 128, 3, seed=5).astype(np.float32)
    noisy = clean + np.random.default_rng(0).normal(0, 20, clean.shape).astype(np.float32)
    convpress.denoise(noisy, weights=shift_weights["denoise"])
    convpress.denoise(noisy, sigma=7.5, weights=shift_weights["denoise"])
    assert abs(levels[0] * 255 - 20) < 1.5 and levels[1] == pytest.approx(7.5 / 255)


def test_deblock_reads_the_quality_from_the_jpeg(shift_weights, levels, tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(natural_like(32, 32, 3)).save(buffer, format="JPEG", quality=30)
    (tmp_path / "a.jpg").write_bytes(buffer.getvalue())
    for source in (buffer.getvalue(), tmp_path / "a.jpg", Image.open(tmp_path / "a.jpg")):
        convpress.deblock(source, weights=shift_weights["deblock"])
    convpress.deblock(buffer.getvalue(), quality=80, weights=shift_weights["deblock"])
    assert levels == pytest.approx([0.7, 0.7, 0.7, 0.2])


def test_deblock_refuses_what_has_no_quality(shift_weights):
    buffer = io.BytesIO()
    Image.fromarray(natural_like(16, 16, 3)).save(buffer, format="PNG")
    with pytest.raises(InvalidParameterError, match="needs a JPEG image, got PNG"):
        convpress.deblock(buffer.getvalue(), weights=shift_weights["deblock"])
    with pytest.raises(InvalidParameterError, match="pass quality="):
        convpress.deblock(np.zeros((8, 8), np.uint8), weights=shift_weights["deblock"])
    with pytest.raises(InvalidParameterError, match="quality must be between"):
        convpress.deblock(np.zeros((8, 8), np.uint8), quality=0, weights=shift_weights["deblock"])


@pytest.mark.parametrize("array", [np.zeros((4, 4), np.int32), np.zeros((4, 4, 2), np.uint8), np.full((4, 4), np.nan)])
def test_unusable_arrays_are_refused(shift_weights, array):
    with pytest.raises(UnsupportedImageError):
        convpress.denoise(array, sigma=5, weights=shift_weights["denoise"])
