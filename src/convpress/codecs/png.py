"""PNG through zlib (Pillow): the lossless reference.

Lossless only, so ``encode`` ignores ``quality``. The zlib level is explicit (option
``compress_level``, 0-9, default 9: the smallest files, which is what a lossless baseline is
compared on); ``optimize=False`` keeps that level as given instead of letting Pillow override it.
L, RGB and RGBA are stored as 8-bit gray, truecolour and truecolour with alpha.
"""

from __future__ import annotations

from collections.abc import Mapping

from PIL import Image

from convpress.codecs.base import CodecOption, PillowCodec
from convpress.codecs.registry import register

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@register
class PngCodec(PillowCodec):
    name = "png"
    description = "PNG (zlib), lossless"
    extensions = (".png",)
    lossy = False
    lossless = True
    options = (
        CodecOption("compress_level", 9, "zlib compression level", minimum=0, maximum=9),
    )
    pillow_format = "PNG"
    pillow_feature = "zlib"

    def save_options(
        self, image: Image.Image, quality: float, lossless: bool, settings: Mapping[str, str | int]
    ) -> dict:
        return {"compress_level": settings["compress_level"], "optimize": False}

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return data[:8] == PNG_SIGNATURE
