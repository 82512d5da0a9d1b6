"""JPEG 2000 specifics: the quality-to-ratio mapping and the coding parameters in the codestream."""

from __future__ import annotations

import math
import struct
from typing import NamedTuple

import pytest
from codec_helpers import encode, make_image

from convpress.codecs.jpeg2000 import compression_ratio, resolution_levels

COD_MARKER = b"\xff\x52"
CODESTREAM_START = b"\xff\x4f\xff\x51"


class CodingStyle(NamedTuple):
    """The fields of a JPEG 2000 COD marker segment that the codec sets."""

    progression: int
    layers: int
    mct: int
    decomposition_levels: int
    codeblock_width: int
    codeblock_height: int
    reversible: bool


def coding_style(data: bytes) -> CodingStyle:
    """Parse the main-header COD segment (ISO/IEC 15444-1, A.6.1)."""
    cod = data.index(COD_MARKER, data.index(CODESTREAM_START))
    progression, layers, mct, levels, xcb, ycb, _style, transform = struct.unpack(">BHBBBBBB", data[cod + 5 : cod + 14])
    return CodingStyle(progression, layers, mct, levels, 2 ** (xcb + 2), 2 ** (ycb + 2), transform == 1)


def test_ratio_runs_geometrically_from_250_to_2():
    assert compression_ratio(1) == pytest.approx(250)
    assert compression_ratio(100) == pytest.approx(2)
    assert compression_ratio(50.5) == pytest.approx(math.sqrt(250 * 2))
    assert compression_ratio(75) == pytest.approx(6.77, abs=0.01)


@pytest.mark.parametrize(
    ("size", "levels"), [((1, 1), 1), ((3, 7), 2), ((7, 3), 2), ((1000, 17), 5), ((32, 32), 6), ((4000, 3000), 6)]
)
def test_resolution_levels_fit_the_shorter_side(size, levels):
    assert resolution_levels(size) == levels


@pytest.mark.parametrize("quality", [30, 50, 75])
def test_file_size_follows_the_ratio(quality):
    image = make_image("RGB", 256, 256)
    target = 256 * 256 * 3 / compression_ratio(quality)
    assert 0.9 * target <= len(encode("jpeg2000", image, quality)) <= 1.01 * target


def test_lossy_rgb_uses_the_9_7_wavelet_with_colour_transform():
    style = coding_style(encode("jpeg2000", make_image("RGB"), 50))
    assert style == CodingStyle(
        progression=0,  # LRCP
        layers=1,
        mct=1,
        decomposition_levels=5,
        codeblock_width=64,
        codeblock_height=64,
        reversible=False,
    )


def test_lossless_uses_the_5_3_wavelet_with_colour_transform():
    style = coding_style(encode("jpeg2000", make_image("RGB"), lossless=True))
    assert style.reversible and style.mct == 1 and style.layers == 1


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_gray_and_rgba_are_coded_without_colour_transform(mode):
    assert coding_style(encode("jpeg2000", make_image(mode), 50)).mct == 0


@pytest.mark.parametrize(("width", "height", "levels"), [(1, 1, 0), (3, 7, 1), (1000, 17, 4)])
def test_tiny_images_get_fewer_decomposition_levels(width, height, levels):
    data = encode("jpeg2000", make_image("RGB", width, height), 50)
    assert coding_style(data).decomposition_levels == levels


def test_output_is_a_jp2_file():
    assert encode("jpeg2000", make_image("L", 8, 8)).startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n")
