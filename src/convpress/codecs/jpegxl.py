"""JPEG XL through libjxl (the ``pillow-jxl-plugin`` package), as a bare codestream.

Lossy (VarDCT, XYB colour space): quality goes to libjxl's ``JxlEncoderDistanceFromQuality``, the
mapping of ``cjxl -q``: Butteraugli distance 0.1 + (100 - q) * 0.09 for q >= 30 (q = 90 is
distance 1, "visually lossless"), 53/3000 q^2 - 23/20 q + 25 below. Quality 100 would mean
distance 0, which libjxl accepts only in lossless mode, so it is sent as 99.99 (distance 0.1).
Alpha is coded losslessly.

Lossless (``lossless=True``): modular mode with the original colour space, bit-exact for L, RGB
and RGBA.

Explicit parameters: ``effort`` (option, 1 fast to 9 slow, default 7 as in cjxl),
``decoding_speed=0`` (no trade of density for decoding speed), no container, no JPEG
transcoding (the plugin would otherwise re-encode the source file of an image opened from a
JPEG). The plugin is registered with Pillow by :mod:`convpress.imageio`.
"""

from __future__ import annotations

from collections.abc import Mapping

from PIL import Image

from convpress.codecs.base import CodecOption, PillowCodec
from convpress.codecs.registry import register

MAX_LOSSY_QUALITY = 99.99
"""Highest quality sent to libjxl in lossy mode (100 is reserved for lossless)."""
JXL_CODESTREAM_START = b"\xff\x0a"
JXL_CONTAINER_SIGNATURE = b"\x00\x00\x00\x0cJXL \r\n\x87\n"


@register
class JpegXlCodec(PillowCodec):
    name = "jpegxl"
    description = "JPEG XL (libjxl), lossy VarDCT or lossless modular"
    extensions = (".jxl",)
    lossless = True
    options = (
        CodecOption("effort", 7, "encoder effort, 1 (fast) to 9 (slow, smaller)", minimum=1, maximum=9),
    )
    pillow_format = "JXL"

    def save_options(
        self, image: Image.Image, quality: float, lossless: bool, settings: Mapping[str, str | int]
    ) -> dict:
        return {
            "lossless": lossless,
            "quality": 100.0 if lossless else min(quality, MAX_LOSSY_QUALITY),
            "effort": settings["effort"],
            "decoding_speed": 0,
            "use_container": False,
            "use_original_profile": lossless,
            "lossless_jpeg": False,
            "compress_metadata": False,
        }

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return data.startswith((JXL_CODESTREAM_START, JXL_CONTAINER_SIGNATURE))
