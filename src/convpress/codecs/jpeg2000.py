"""JPEG 2000 through OpenJPEG (Pillow), in a JP2 container.

Lossy: the irreversible 9/7 wavelet with the irreversible colour transform (``mct=1``) on RGB,
rate-controlled by a compression ratio. (Pillow's OpenJPEG path writes RGBA without the colour
transform, so its four channels are coded independently.) Quality q maps geometrically onto that ratio, from 250:1
at q = 1 to 2:1 at q = 100::

    ratio(q) = 250 ** ((100 - q) / 99) * 2 ** ((q - 1) / 99)

so q = 75 gives about 6.8:1 (3.5 bpp for RGB) and q = 50 about 23:1 (1.0 bpp for RGB). The ratio is
OpenJPEG's: uncompressed bits (all components, alpha included) over coded bits; a ratio below
what the codestream needs is reached by truncation, and tiny images cannot go below the JP2
header size (about 250 bytes), so very low qualities stop making files smaller there.

Lossless (``lossless=True``): the reversible 5/3 wavelet with the reversible colour transform
(again RGB only).

Other parameters are explicit rather than OpenJPEG's defaults: one quality layer, one tile,
64x64 code blocks, no precincts, LRCP progression, and min(6, floor(log2(shorter side)) + 1)
resolution levels, because OpenJPEG refuses more levels than the image has (1 for a 1-pixel
side, 2 for 3 pixels, 6 from 32 pixels on).
"""

from __future__ import annotations

from collections.abc import Mapping

from PIL import Image

from convpress.codecs.base import PillowCodec
from convpress.codecs.registry import register

RATIO_AT_QUALITY_1 = 250.0
RATIO_AT_QUALITY_100 = 2.0
MAX_RESOLUTIONS = 6
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
J2K_CODESTREAM_START = b"\xff\x4f\xff\x51"


def compression_ratio(quality: float) -> float:
    """OpenJPEG rate (compression ratio) for a quality on the common 1-100 scale."""
    position = (quality - 1.0) / 99.0
    return RATIO_AT_QUALITY_1 ** (1.0 - position) * RATIO_AT_QUALITY_100**position


def resolution_levels(size: tuple[int, int]) -> int:
    """Resolution levels for an image: OpenJPEG needs 2**(levels - 1) <= the shorter side."""
    return min(MAX_RESOLUTIONS, min(size).bit_length())


@register
class Jpeg2000Codec(PillowCodec):
    name = "jpeg2000"
    description = "JPEG 2000 (OpenJPEG), lossy 9/7 or lossless 5/3"
    extensions = (".jp2",)
    lossless = True
    pillow_format = "JPEG2000"
    pillow_feature = "jpg_2000"

    def save_options(
        self, image: Image.Image, quality: float, lossless: bool, settings: Mapping[str, str | int]
    ) -> dict:
        return {
            "no_jp2": False,
            "irreversible": not lossless,
            "mct": 1 if image.mode == "RGB" else 0,
            "quality_mode": "rates",
            "quality_layers": None if lossless else [compression_ratio(quality)],
            "num_resolutions": resolution_levels(image.size),
            "codeblock_size": (64, 64),
            "precinct_size": None,
            "tile_size": None,
            "progression": "LRCP",
            "cinema_mode": "no",
            "signed": False,
            "plt": False,
        }

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return data.startswith((JP2_SIGNATURE, J2K_CODESTREAM_START))
