"""PNG specifics: lossless only, with an explicit zlib level."""

from __future__ import annotations

import pytest
from codec_helpers import encode, make_image

from convpress.codecs import get_codec
from convpress.errors import InvalidParameterError


def test_png_is_lossless_only():
    codec = get_codec("png")
    assert codec.lossless and not codec.lossy


def test_quality_is_ignored():
    image = make_image("RGB")
    assert encode("png", image, 1) == encode("png", image, 100) == encode("png", image, lossless=True)


def test_compress_level_trades_size_and_keeps_pixels():
    image = make_image("RGB")
    stored, smallest = (encode("png", image, compress_level=level) for level in (0, 9))
    assert len(stored) > 3 * image.width * image.height  # level 0: zlib "stored" blocks, no compression
    assert len(smallest) < len(stored)
    codec = get_codec("png")
    assert codec.decode(stored).tobytes() == codec.decode(smallest).tobytes() == image.tobytes()


def test_default_level_is_nine():
    image = make_image("RGB")
    assert encode("png", image) == encode("png", image, compress_level=9)


def test_compress_level_out_of_range_is_refused():
    with pytest.raises(InvalidParameterError, match="compress_level must be between 0 and 9, got 10"):
        encode("png", make_image("L"), compress_level="10")
