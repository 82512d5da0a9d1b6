"""WebP through libwebp (Pillow): lossy VP8 and lossless VP8L.

Lossy: quality maps one to one onto libwebp's quality (0-100 float). The effort is explicit
(option ``method``, 0-6, default 4: Pillow's default, which CompressAI's published WebP curve was
made with). Lossless (``lossless=True``): libwebp's quality then means effort and is fixed at 75
(cwebp's default) with the same ``method``.

In both modes ``exact=True`` keeps the RGB values under fully transparent pixels (libwebp would
otherwise rewrite them to save bits, so RGBA round trips would not be exact) and
``alpha_quality=100`` codes alpha losslessly.

WebP has no gray mode: L images are encoded as RGB (R = G = B) and decode as RGB, which
:meth:`WebpCodec.decoded_mode` reports. Sides are limited to 16383 pixels.
"""

from __future__ import annotations

from collections.abc import Mapping

from PIL import Image

from convpress.codecs.base import CodecOption, PillowCodec
from convpress.codecs.registry import register

LOSSLESS_EFFORT = 75.0
"""libwebp's quality in lossless mode, where it sets effort (cwebp's default)."""


@register
class WebpCodec(PillowCodec):
    name = "webp"
    description = "WebP (libwebp), lossy VP8 or lossless VP8L; gray decodes as RGB"
    extensions = (".webp",)
    lossless = True
    max_side = 16383
    options = (
        CodecOption("method", 4, "encoder effort, 0 (fast) to 6 (slow, smaller)", minimum=0, maximum=6),
    )
    pillow_format = "WEBP"
    pillow_feature = "webp"

    def save_options(
        self, image: Image.Image, quality: float, lossless: bool, settings: Mapping[str, str | int]
    ) -> dict:
        return {
            "lossless": lossless,
            "quality": LOSSLESS_EFFORT if lossless else quality,
            "method": settings["method"],
            "exact": True,
            "alpha_quality": 100,
        }

    def prepare(self, image: Image.Image) -> Image.Image:
        return image.convert("RGB") if image.mode == "L" else image

    def decoded_mode(self, mode: str) -> str:
        return "RGB" if mode == "L" else mode

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
