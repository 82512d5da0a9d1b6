"""Helpers shared by the codec tests: test images, fast encoder settings and PSNR."""

from __future__ import annotations

import numpy as np
from imagegen import natural_like
from PIL import Image

from convpress.codecs import get_codec

CLASSICAL_CODECS = ("avif", "heic", "jpeg", "jpeg2000", "jpegxl", "png", "webp")
"""The codecs of this package's classical modules (learned codecs have their own tests)."""

# x265's default preset is slow; nothing the tests check depends on the preset.
FAST_OPTIONS = {"heic": {"preset": "ultrafast"}}


def psnr(reference: Image.Image, decoded: Image.Image) -> float:
    """PSNR in dB over all channels, infinite for identical images."""
    difference = np.asarray(reference, dtype=np.float64) - np.asarray(decoded, dtype=np.float64)
    mse = float(np.mean(difference**2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def make_image(mode: str, width: int = 96, height: int = 64, seed: int = 0) -> Image.Image:
    """A photo-like L, RGB or RGBA test image."""
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    return Image.fromarray(natural_like(height, width, channels, seed=seed), mode)


def encode(name: str, image: Image.Image, quality: float = 75, **options) -> bytes:
    """Encode with the named codec, using fast settings unless ``options`` override them."""
    return get_codec(name).encode(image, quality, **{**FAST_OPTIONS.get(name, {}), **options})


def round_trip(name: str, image: Image.Image, quality: float = 75, **options) -> tuple[bytes, Image.Image]:
    """Encoded bytes and the decoded image."""
    data = encode(name, image, quality, **options)
    return data, get_codec(name).decode(data)
