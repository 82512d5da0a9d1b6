"""The alpha stream of ``.cpz`` files: an RGBA image's alpha plane, stored losslessly as PNG.

Both CNN codecs code colour only; they keep transparency exact by carrying it in a stream of its
own, written and checked here in one place.
"""

from __future__ import annotations

import io

from PIL import Image

from convpress.errors import CorruptDataError


def alpha_stream(image: Image.Image) -> bytes | None:
    """The PNG bytes of an RGBA image's alpha plane; None for images without alpha."""
    if image.mode != "RGBA":
        return None
    buffer = io.BytesIO()
    image.getchannel("A").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def with_alpha(image: Image.Image, stream: bytes | None) -> Image.Image:
    """``image`` (RGB) with the alpha plane of ``stream`` attached; CorruptDataError if it is bad."""
    try:
        alpha = Image.open(io.BytesIO(stream or b""))
        alpha.load()
    except Exception as exc:  # Pillow raises many kinds of error on damaged data
        raise CorruptDataError(f"corrupt alpha stream ({exc})") from exc
    if alpha.size != image.size or alpha.mode != "L":
        raise CorruptDataError("alpha stream does not match the image")
    image.putalpha(alpha)
    return image
