"""AVIF specifics: chroma format, colour description and options, read back from the file."""

from __future__ import annotations

import os
from typing import NamedTuple

import pytest
from PIL import Image
from codec_helpers import encode, make_image, psnr

from convpress.codecs import get_codec
from convpress.errors import InvalidParameterError
from imagegen import natural_like


class ChromaFormat(NamedTuple):
    monochrome: bool
    subsampling_x: int
    subsampling_y: int


def chroma_format(data: bytes) -> ChromaFormat:
    """Read the av1C box (AV1-ISOBMFF, 2.3.3): flags byte after marker/version and profile/level."""
    flags = data[data.index(b"av1C") + 6]
    return ChromaFormat(bool(flags & 0x10), (flags >> 3) & 1, (flags >> 2) & 1)


def nclx(data: bytes) -> tuple[int, int, int, bool]:
    """Primaries, transfer, matrix and full-range flag of the colr box."""
    start = data.index(b"colrnclx") + 8
    body = data[start : start + 7]
    return int.from_bytes(body[0:2]), int.from_bytes(body[2:4]), int.from_bytes(body[4:6]), bool(body[6] & 0x80)


@pytest.mark.parametrize(
    ("subsampling", "expected"),
    [("4:2:0", ChromaFormat(False, 1, 1)), ("4:2:2", ChromaFormat(False, 1, 0)), ("4:4:4", ChromaFormat(False, 0, 0))],
)
def test_subsampling_option_sets_the_av1_chroma_format(subsampling, expected):
    assert chroma_format(encode("avif", make_image("RGB"), subsampling=subsampling)) == expected


def test_default_subsampling_is_4_2_0():
    assert chroma_format(encode("avif", make_image("RGB"))) == ChromaFormat(False, 1, 1)


def test_gray_is_coded_monochrome_whatever_the_subsampling_option():
    data = encode("avif", make_image("L"), subsampling="4:4:4")
    assert chroma_format(data).monochrome
    assert get_codec("avif").decode(data).mode == "L"


def test_colour_is_full_range_bt601_srgb():
    assert nclx(encode("avif", make_image("RGB"))) == (1, 13, 6, True)


def test_speed_option_changes_the_encoding():
    image = make_image("RGB")
    assert encode("avif", image, 50, speed=10) != encode("avif", image, 50, speed=6)


def test_speed_out_of_range_is_refused():
    with pytest.raises(InvalidParameterError, match="speed must be between 0 and 10, got 11"):
        encode("avif", make_image("RGB"), speed=11)


def test_quality_100_is_near_lossless_but_not_exact():
    """Why the codec offers no lossless mode: Pillow's fixed BT.601 matrix rounds RGB."""
    codec = get_codec("avif")
    image = make_image("RGB")
    decoded = codec.decode(codec.encode(image, 100, subsampling="4:4:4"))
    assert 40 < psnr(image, decoded) < float("inf")
    assert not codec.lossless


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_the_file_does_not_depend_on_how_many_cpus_the_process_may_use():
    # libaom's output depends on its thread count, which Pillow would take from the usable CPUs.
    image = Image.fromarray(natural_like(384, 512, 3, 5))
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        on_one_cpu = encode("avif", image, 46)
    finally:
        os.sched_setaffinity(0, allowed)
    assert encode("avif", image, 46) == on_one_cpu


def test_the_threads_option_reaches_libaom_and_still_codes_the_image():
    image = Image.fromarray(natural_like(384, 512, 3, 5))
    data = encode("avif", image, 46, threads=2)
    assert data != encode("avif", image, 46, threads=1)  # libaom's output depends on its thread count
    assert psnr(image, get_codec("avif").decode(data)) > 30
