"""JPEG through libjpeg-turbo (Pillow).

Quality maps one to one onto libjpeg's quality (1-100, IJG tables). Chroma subsampling is 4:2:0 by
default (``subsampling="4:4:4"`` or ``"4:2:2"`` to change it); gray images are stored as 1-channel
JPEG. RGBA is refused: JPEG has no alpha channel.
"""

from __future__ import annotations

from PIL import Image

from convpress.codecs.base import PillowCodec
from convpress.codecs.registry import register

_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


@register
class JpegCodec(PillowCodec):
    name = "jpeg"
    description = "JPEG (libjpeg-turbo), 4:2:0 by default"
    extensions = (".jpg", ".jpeg", ".jpe")
    modes = frozenset({"L", "RGB"})
    pillow_format = "JPEG"

    def save_options(self, image: Image.Image, quality: float, subsampling: str = "4:2:0", **options) -> dict:
        if subsampling not in _SUBSAMPLING:
            raise ValueError(f"jpeg subsampling must be one of {', '.join(_SUBSAMPLING)}, got {subsampling!r}")
        return {
            "quality": int(round(quality)),
            "subsampling": _SUBSAMPLING[subsampling],
            "optimize": False,
            "progressive": False,
        }

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return data[:3] == b"\xff\xd8\xff"
