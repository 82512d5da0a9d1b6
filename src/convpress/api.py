"""The Python API: compress and decompress images in one call.

>>> import convpress
>>> data = convpress.compress("photo.png", quality=60)            # learned codec, .cpz bytes
>>> data = convpress.compress(image, target_size="40KB", codec="webp")
>>> image = convpress.decompress(data)                             # any supported format
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from convpress.codecs import DEFAULT_QUALITY, codec_for_data, get_codec
from convpress.codecs.targets import encode_to_target
from convpress.errors import CorruptDataError, InvalidParameterError
from convpress.imageio import open_image

ImageLike = str | os.PathLike | bytes | Image.Image | np.ndarray


def compress(
    image: ImageLike,
    quality: float | None = None,
    *,
    codec: str = "learned",
    target_bpp: float | None = None,
    target_size: int | str | None = None,
    target_psnr: float | None = None,
    **options,
) -> bytes:
    """Compress an image (path, bytes, PIL image or uint8 array) with ``codec``.

    Give a ``quality`` (1-100) or one target: ``target_bpp``, ``target_size`` (bytes, or text such
    as ``"40KB"``) or ``target_psnr`` (dB); the quality is then searched to within 3% of it.
    """
    picture = open_image(image)
    chosen = get_codec(codec)
    targets = {k: v for k, v in {"target_bpp": target_bpp, "target_size": target_size, "target_psnr": target_psnr}.items() if v is not None}
    if targets:
        if quality is not None:
            raise InvalidParameterError("give either a quality or a target, not both")
        return encode_to_target(chosen, picture, **targets, **options).data
    return chosen.encode(picture, quality=DEFAULT_QUALITY if quality is None else quality, **options)


def decompress(data: bytes) -> Image.Image:
    """Decode bytes of any supported format (found from the magic bytes)."""
    codec = codec_for_data(data)
    if codec is None:
        raise CorruptDataError("not a file of any supported format")
    return codec.decode(data)
