"""JPEG through libjpeg-turbo (Pillow).

Quality maps one to one onto libjpeg's quality (1-100, IJG tables; fractional qualities are
rounded). RGB is converted to YCbCr (``keep_rgb=False``) with chroma subsampled 4:2:0 by default
(option ``subsampling`` = ``4:4:4`` or ``4:2:2`` to change it); Huffman tables are the standard
ones (``optimize=False``) and the scan is baseline sequential, as in the usual JPEG anchors. Gray
images are stored as 1-channel JPEG. RGBA is refused: JPEG has no alpha channel.
"""

from __future__ import annotations

from collections.abc import Mapping

from PIL import Image

from convpress.codecs.base import CodecOption, PillowCodec
from convpress.codecs.registry import register

_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


@register
class JpegCodec(PillowCodec):
    name = "jpeg"
    description = "JPEG (libjpeg-turbo), 4:2:0 by default"
    extensions = (".jpg", ".jpeg", ".jpe")
    modes = frozenset({"L", "RGB"})
    max_side = 65500
    options = (
        CodecOption("subsampling", "4:2:0", "chroma subsampling of RGB images", choices=tuple(_SUBSAMPLING)),
    )
    pillow_format = "JPEG"
    pillow_feature = "jpg"

    def save_options(
        self, image: Image.Image, quality: float, lossless: bool, settings: Mapping[str, str | int]
    ) -> dict:
        return {
            "quality": int(round(quality)),
            "subsampling": _SUBSAMPLING[str(settings["subsampling"])],
            "keep_rgb": False,
            "optimize": False,
            "progressive": False,
        }

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return data[:3] == b"\xff\xd8\xff"
