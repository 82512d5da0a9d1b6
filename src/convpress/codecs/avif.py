"""AVIF (AV1 intra) through libavif with the libaom encoder (Pillow's built-in plugin).

Quality maps one to one onto libavif's quality (0-100, rounded to an integer), which libavif turns
into the AV1 quantizer ``round((100 - q) * 63 / 100)``; alpha is coded at the same quality.
Everything else is explicit: encoder ``codec="aom"``, full-range YUV with the BT.601 matrix
(Pillow's fixed choice), one tile (no automatic tiling), and chroma subsampling 4:2:0 (option
``subsampling``: ``4:2:2`` or ``4:4:4``). Encoder speed is option ``speed`` (0 slowest/best to 10
fastest, default 6 as in Pillow). libaom's output depends on its thread count (a 512x600 photo at
quality 46: 18 915 bytes on one thread, 18 869 on two), and Pillow would use as many as the process
has CPUs, so option ``threads`` fixes it (default 1): the same image gives the same file on any
machine. Gray images are coded as monochrome AV1 (4:0:0) and decode as L; ``subsampling`` does
not apply to them.

No lossless mode: lossless AV1 needs the identity matrix, and Pillow always writes BT.601, so even
quality 100 with 4:4:4 loses about 0.5 dB to the RGB/YUV conversion (gray images at quality 100
happen to survive exactly, but that is not a mode this codec promises).
"""

from __future__ import annotations

from collections.abc import Mapping

from PIL import Image

from convpress.codecs.base import CodecOption, PillowCodec, isobmff_brands
from convpress.codecs.registry import register

AVIF_BRANDS = frozenset({b"avif", b"avis"})


@register
class AvifCodec(PillowCodec):
    name = "avif"
    description = "AVIF (libavif + libaom), 4:2:0 by default"
    extensions = (".avif",)
    options = (
        CodecOption("speed", 6, "encoder speed, 0 (slow, best) to 10 (fast)", minimum=0, maximum=10),
        CodecOption("subsampling", "4:2:0", "chroma subsampling of colour images", choices=("4:2:0", "4:2:2", "4:4:4")),
        CodecOption("threads", 1, "libaom encoder threads (the file depends on the count, not on the machine)", minimum=1, maximum=64),
    )
    pillow_format = "AVIF"
    pillow_feature = "avif"

    def save_options(
        self, image: Image.Image, quality: float, lossless: bool, settings: Mapping[str, str | int]
    ) -> dict:
        return {
            "quality": int(round(quality)),
            "speed": settings["speed"],
            "subsampling": "4:0:0" if image.mode == "L" else settings["subsampling"],
            "codec": "aom",
            "range": "full",
            "autotiling": False,
            "tile_rows": 0,
            "tile_cols": 0,
            "alpha_premultiplied": False,
            "max_threads": settings["threads"],
        }

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return bool(isobmff_brands(data) & AVIF_BRANDS)
