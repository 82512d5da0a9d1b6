"""JPEG specifics: the quality and subsampling reach libjpeg as documented."""

from __future__ import annotations

import io

import pytest
from codec_helpers import encode, make_image
from PIL import Image, JpegImagePlugin

from convpress.codecs import get_codec
from convpress.errors import InvalidParameterError, UnsupportedImageError

SAMPLING_CODES = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


def open_jpeg(data: bytes) -> JpegImagePlugin.JpegImageFile:
    return Image.open(io.BytesIO(data), formats=["JPEG"])


@pytest.mark.parametrize("quality", [1, 37, 75, 100])
def test_quality_maps_one_to_one_onto_libjpeg_quality_tables(quality):
    image = make_image("RGB")
    reference = io.BytesIO()
    image.save(reference, format="JPEG", quality=quality)
    assert open_jpeg(encode("jpeg", image, quality)).quantization == open_jpeg(reference.getvalue()).quantization


def test_fractional_quality_is_rounded():
    image = make_image("RGB")
    assert encode("jpeg", image, 49.6) == encode("jpeg", image, 50)


@pytest.mark.parametrize("subsampling", list(SAMPLING_CODES))
def test_subsampling_option_sets_the_chroma_sampling(subsampling):
    data = encode("jpeg", make_image("RGB"), subsampling=subsampling)
    assert JpegImagePlugin.get_sampling(open_jpeg(data)) == SAMPLING_CODES[subsampling]


def test_default_is_baseline_4_2_0_ycbcr():
    jpeg = open_jpeg(encode("jpeg", make_image("RGB")))
    assert JpegImagePlugin.get_sampling(jpeg) == SAMPLING_CODES["4:2:0"]
    assert "progressive" not in jpeg.info and "progression" not in jpeg.info
    assert jpeg.layer[0][0] == 1  # component ids 1, 2, 3: YCbCr, not Adobe RGB ("R", "G", "B")


def test_gray_is_stored_as_one_component():
    jpeg = open_jpeg(encode("jpeg", make_image("L")))
    assert jpeg.mode == "L" and len(jpeg.layer) == 1


def test_unknown_subsampling_is_refused():
    with pytest.raises(InvalidParameterError, match="subsampling must be one of 4:4:4, 4:2:2, 4:2:0, got '4:1:1'"):
        encode("jpeg", make_image("RGB"), subsampling="4:1:1")


def test_rgba_is_refused_because_jpeg_has_no_alpha():
    with pytest.raises(UnsupportedImageError, match=r"jpeg cannot store RGBA images \(it accepts L, RGB\)"):
        get_codec("jpeg").encode(make_image("RGBA"))


def test_images_wider_than_jpeg_allows_are_refused():
    with pytest.raises(UnsupportedImageError, match="up to 65500 pixels a side, got 65501x1"):
        get_codec("jpeg").encode(Image.new("L", (65501, 1)))
