"""Compress one image with several codecs at comparable settings.

Two ways to make settings comparable: the same nominal quality (quick, but "quality 75" means
different things to different codecs), or the same file size, found by searching each codec's
quality for the rate closest to a target bpp. Equal size is the fair comparison: at equal rate,
the codec with the higher PSNR / MS-SSIM is simply better on this image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from convpress.codecs import get_codec
from convpress.codecs.base import Codec
from convpress.codecs.targets import encode_to_target
from convpress.evaluation import metrics


@dataclass
class Comparison:
    """One codec's result on the image."""

    codec: str
    quality: float | None
    """None for codecs without a quality scale (lossless)."""
    data: bytes
    decoded: Image.Image
    bpp: float
    compression_ratio: float
    psnr_rgb: float
    ms_ssim: float
    encode_ms: float
    decode_ms: float
    extension: str

    def table_row(self) -> dict[str, Any]:
        """The numbers (no pixels or bytes), as the JSON table and the printed table show them."""
        return {
            "codec": self.codec,
            "quality": self.quality,
            "bytes": len(self.data),
            "bpp": self.bpp,
            "compression_ratio": self.compression_ratio,
            "psnr-rgb": self.psnr_rgb,
            "ms-ssim": self.ms_ssim,
            "encode_ms": self.encode_ms,
            "decode_ms": self.decode_ms,
        }


def compare_codecs(
    image: Image.Image,
    codec_names: Sequence[str],
    *,
    quality: float | None = None,
    target_bpp: float | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    repeats: int = 3,
) -> list[Comparison]:
    """Each codec on ``image`` at ``quality`` or at the quality closest to ``target_bpp``.

    Times are the fastest of ``repeats`` runs. Give one of ``quality`` and ``target_bpp``.
    """
    if (quality is None) == (target_bpp is None):
        raise ValueError("give either a quality or a target bpp")
    return [
        compare_one(get_codec(name), image, quality, target_bpp, (options or {}).get(name, {}), repeats)
        for name in codec_names
    ]


def compare_one(
    codec: Codec, image: Image.Image, quality: float | None, target_bpp: float | None,
    options: Mapping[str, Any], repeats: int,
) -> Comparison:
    """One codec's :class:`Comparison` on ``image``."""
    if not codec.lossy:
        setting = None
    elif target_bpp is not None:
        setting = encode_to_target(codec, image, target_bpp=target_bpp, **options).quality
    else:
        setting = quality
    quality_kwargs = {} if setting is None else {"quality": setting}
    data, encode_s = metrics.best_time(codec.encode, image, **quality_kwargs, **options, repeats=repeats)
    decoded, decode_s = metrics.best_time(codec.decode, data, repeats=repeats)
    scores = metrics.distortion(image, decoded)
    return Comparison(
        codec=codec.name,
        quality=setting,
        data=data,
        decoded=decoded,
        bpp=metrics.bits_per_pixel(len(data), image.width, image.height),
        compression_ratio=metrics.compression_ratio(image, len(data)),
        psnr_rgb=scores["psnr-rgb"],
        ms_ssim=scores["ms-ssim"],
        encode_ms=1000 * encode_s,
        decode_ms=1000 * decode_s,
        extension=codec.extensions[0] if codec.extensions else ".bin",
    )
