"""Comparing codecs on one image: equal quality, or equal size found by bisection."""

from __future__ import annotations

import math

import pytest
from imagegen import natural_like
from eval_helpers import fake_codecs  # noqa: F401  (fixture)
from PIL import Image

from convpress.codecs import get_codec
from convpress.evaluation import metrics
from convpress.codecs.targets import encode_to_target
from convpress.evaluation.compare import compare_codecs


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.fromarray(natural_like(168, 176, 3, seed=2), "RGB")


def jpeg_bpp(image: Image.Image, quality: int) -> float:
    return metrics.bits_per_pixel(len(get_codec("jpeg").encode(image, quality=quality)), image.width, image.height)


@pytest.mark.parametrize("target", [0.8, 1.5, 3.0])
def test_target_search_lands_near_the_closest_quality(photo, target):
    found = encode_to_target(get_codec("jpeg"), photo, target_bpp=target)
    best = min(abs(jpeg_bpp(photo, q) - target) for q in range(1, 101))
    assert abs(found.achieved - target) <= max(0.03 * target, best + 0.02)


def test_unreachable_target_gives_the_end_of_the_scale(photo):
    assert encode_to_target(get_codec("jpeg"), photo, target_bpp=0.001).achieved == jpeg_bpp(photo, 1)
    assert encode_to_target(get_codec("jpeg"), photo, target_bpp=100.0).achieved == jpeg_bpp(photo, 100)
    with pytest.raises(ValueError, match="positive"):
        encode_to_target(get_codec("jpeg"), photo, target_bpp=0)


def test_compare_at_equal_quality(photo):
    (result,) = compare_codecs(photo, ["jpeg"], quality=60, repeats=2)
    expected = get_codec("jpeg").encode(photo, quality=60)
    assert result.codec == "jpeg" and result.quality == 60 and result.data == expected
    assert result.bpp == metrics.bits_per_pixel(len(expected), photo.width, photo.height)
    assert result.compression_ratio == pytest.approx(24 / result.bpp)
    assert result.psnr_rgb == metrics.psnr_rgb(photo, result.decoded)
    assert 0.9 < result.ms_ssim < 1.0
    assert result.encode_ms > 0 and result.decode_ms > 0 and result.extension == ".jpg"
    assert set(result.table_row()) == {"codec", "quality", "bytes", "bpp", "compression_ratio", "psnr-rgb", "ms-ssim",
                                       "encode_ms", "decode_ms"}


def test_compare_at_target_bpp_and_with_options(photo, fake_codecs):  # noqa: F811
    jpeg, fake, lossless = compare_codecs(photo, ["jpeg", "fake-quantizer", "fake-lossless"], target_bpp=1.5,
                                          options={"jpeg": {"subsampling": "4:4:4"}}, repeats=1)
    assert jpeg.data == get_codec("jpeg").encode(photo, quality=jpeg.quality, subsampling="4:4:4")
    assert abs(jpeg.bpp - 1.5) < 0.3
    assert fake.quality is not None and lossless.quality is None and lossless.psnr_rgb == math.inf


def test_compare_needs_exactly_one_setting(photo):
    with pytest.raises(ValueError, match="either a quality or a target bpp"):
        compare_codecs(photo, ["jpeg"])
    with pytest.raises(ValueError, match="either a quality or a target bpp"):
        compare_codecs(photo, ["jpeg"], quality=50, target_bpp=1.0)
