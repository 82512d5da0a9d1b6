"""JPEG XL specifics: quality 100, effort, bare codestream, no JPEG transcoding."""

from __future__ import annotations

import pytest
from codec_helpers import encode, make_image, psnr

from convpress.codecs import get_codec
from convpress.errors import InvalidParameterError


def test_quality_100_is_the_finest_lossy_setting_not_lossless():
    codec = get_codec("jpegxl")
    image = make_image("RGB")
    lossy = codec.encode(image, 100)
    lossless = codec.encode(image, lossless=True)
    assert len(lossy) < len(lossless)
    assert 40 < psnr(image, codec.decode(lossy)) < float("inf")
    assert lossy == codec.encode(image, 99.99)


def test_output_is_a_bare_codestream():
    assert encode("jpegxl", make_image("RGB")).startswith(b"\xff\x0a")


def test_effort_option_changes_the_encoding():
    image = make_image("RGB")
    assert encode("jpegxl", image, 50, effort=1) != encode("jpegxl", image, 50, effort=9)


def test_effort_out_of_range_is_refused():
    with pytest.raises(InvalidParameterError, match="effort must be between 1 and 9, got 0"):
        encode("jpegxl", make_image("RGB"), effort="0")


def test_image_opened_from_a_jpeg_file_is_encoded_from_its_pixels(tmp_path):
    """The plugin would otherwise transcode the source JPEG file, ignoring quality."""
    from PIL import Image

    source = tmp_path / "photo.jpg"
    make_image("RGB").save(source, quality=95)
    with Image.open(source) as opened:
        assert encode("jpegxl", opened, 30) == encode("jpegxl", opened.copy(), 30)
