"""WebP specifics: Pillow-default settings, gray as RGB, exact alpha."""

from __future__ import annotations

import io

import numpy as np
import pytest
from codec_helpers import encode, make_image
from PIL import Image

from convpress.codecs import get_codec
from convpress.errors import UnsupportedImageError


@pytest.mark.parametrize("quality", [5, 42.5, 90])
def test_lossy_output_is_pillows_default_webp_at_the_same_quality(quality):
    """Pillow's defaults (method 4) made CompressAI's published WebP curve."""
    image = make_image("RGB")
    reference = io.BytesIO()
    image.save(reference, format="WEBP", quality=quality)
    assert encode("webp", image, quality) == reference.getvalue()


def test_gray_is_encoded_as_rgb_and_decodes_as_rgb():
    codec = get_codec("webp")
    gray = make_image("L")
    decoded = codec.decode(codec.encode(gray, lossless=True))
    assert codec.decoded_mode("L") == decoded.mode == "RGB"
    assert all(np.array_equal(np.asarray(band), np.asarray(gray)) for band in decoded.split())


def test_lossy_mode_keeps_alpha_exactly():
    codec = get_codec("webp")
    image = make_image("RGBA", seed=4)
    decoded = codec.decode(codec.encode(image, 20))
    assert np.array_equal(np.asarray(decoded.getchannel("A")), np.asarray(image.getchannel("A")))


def test_lossless_mode_keeps_colour_under_transparent_pixels():
    array = np.asarray(make_image("RGBA", seed=4)).copy()
    array[..., 3] = 0  # fully transparent: libwebp would rewrite the colour without exact=True
    codec = get_codec("webp")
    decoded = codec.decode(codec.encode(Image.fromarray(array, "RGBA"), lossless=True))
    assert np.array_equal(np.asarray(decoded), array)


def test_method_option_changes_the_encoding():
    image = make_image("RGB")
    assert encode("webp", image, 50, method=0) != encode("webp", image, 50, method=6)


def test_sides_beyond_webp_limit_are_refused():
    with pytest.raises(UnsupportedImageError, match="up to 16383 pixels a side, got 1x16384"):
        get_codec("webp").encode(make_image("RGB", 1, 16384))
