"""HEIC specifics: chroma, colour description and lossless settings, read back through libheif."""

from __future__ import annotations

import io

import pytest
from codec_helpers import encode, make_image
from PIL import Image

from convpress.errors import InvalidParameterError


def heif_info(data: bytes) -> dict:
    with Image.open(io.BytesIO(data), formats=["HEIF"]) as image:
        return dict(image.info)


@pytest.mark.parametrize(("subsampling", "chroma"), [("4:2:0", 420), ("4:2:2", 422), ("4:4:4", 444)])
def test_subsampling_option_sets_the_hevc_chroma_format(subsampling, chroma):
    assert heif_info(encode("heic", make_image("RGB"), 50, subsampling=subsampling))["chroma"] == chroma


def test_default_is_4_2_0_full_range_bt601():
    info = heif_info(encode("heic", make_image("RGB"), 50))
    assert info["chroma"] == 420
    profile = info["nclx_profile"]
    assert (profile["color_primaries"], profile["transfer_characteristics"]) == (1, 13)
    assert (profile["matrix_coefficients"], profile["full_range_flag"]) == (6, 1)


def test_lossless_uses_4_4_4_and_the_identity_matrix():
    info = heif_info(encode("heic", make_image("RGB"), lossless=True, subsampling="4:2:0"))
    assert info["chroma"] == 444
    assert info["nclx_profile"]["matrix_coefficients"] == 0


def test_preset_option_changes_the_encoding():
    image = make_image("RGB")
    assert encode("heic", image, 50, preset="ultrafast") != encode("heic", image, 50, preset="medium")


def test_unknown_preset_is_refused():
    with pytest.raises(InvalidParameterError, match="preset must be one of ultrafast, .*placebo, got 'quick'"):
        encode("heic", make_image("RGB"), preset="quick")


def test_output_is_a_heic_file():
    assert encode("heic", make_image("RGB"))[4:12] == b"ftypheic"
