"""HEIC (HEVC intra) through libheif and x265 (``pillow-heif``): the stand-in for BPG.

Lossy: quality maps one to one onto libheif's x265 quality, which sets the constant rate factor
``crf = (100 - q) / 2`` (q = 50 gives crf 25). Chroma is 4:2:0 by default; option
``subsampling`` = ``4:4:4`` is the setting of the BPG anchors (``4:2:2`` also exists). YUV is full
range with the BT.601 matrix, written in an explicit nclx colour profile (primaries BT.709,
sRGB transfer). The x265 settings are explicit: ``tune="ssim"`` as in bpgenc (libheif then forces
``aq-mode=1`` and ``psy-rd=1``), ``tu-intra-depth=2`` and preset ``slow`` (option ``preset``, any
x265 preset name; libheif's default, close to bpgenc's ``veryslow`` for a single intra frame).
Images smaller than 64 pixels a side are padded by libheif and cropped on decoding; no grid
tiling (``tile_size=0``). Alpha is stored as a separate image at the same quality.

Lossless (``lossless=True``): x265 lossless with 4:4:4 chroma and the identity matrix
(``matrix_coefficients=0``, i.e. GBR planes), so RGB(A) round trips are bit-exact; gray is coded
as monochrome.

The plugin is registered with Pillow by :mod:`convpress.imageio`; without pillow-heif, or with a
libheif that has no HEVC encoder, the codec reports itself unavailable.
"""

from __future__ import annotations

from collections.abc import Mapping

from PIL import Image

from convpress.codecs.base import CodecOption, PillowCodec, isobmff_brands
from convpress.codecs.registry import register

HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
X265_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"
)
_CHROMA = {"4:2:0": "420", "4:2:2": "422", "4:4:4": "444"}
MATRIX_IDENTITY = 0
MATRIX_BT601 = 6


@register
class HeicCodec(PillowCodec):
    name = "heic"
    description = "HEIC / HEVC intra (libheif + x265), the BPG stand-in"
    extensions = (".heic", ".heif")
    lossless = True
    options = (
        CodecOption("subsampling", "4:2:0", "chroma subsampling of colour images", choices=tuple(_CHROMA)),
        CodecOption("preset", "slow", "x265 speed preset", choices=X265_PRESETS),
    )
    pillow_format = "HEIF"

    def save_options(
        self, image: Image.Image, quality: float, lossless: bool, settings: Mapping[str, str | int]
    ) -> dict:
        return {
            "quality": -1 if lossless else int(round(quality)),
            "chroma": "444" if lossless else _CHROMA[str(settings["subsampling"])],
            "enc_params": {"preset": settings["preset"], "tune": "ssim", "tu-intra-depth": "2"},
            "save_nclx_profile": True,
            "color_primaries": 1,
            "transfer_characteristics": 13,
            "matrix_coefficients": MATRIX_IDENTITY if lossless else MATRIX_BT601,
            "full_range_flag": 1,
            "tile_size": 0,
        }

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return bool(isobmff_brands(data) & HEVC_BRANDS)
