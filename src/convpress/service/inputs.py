"""Turning uploaded bytes into images, judged by their content and never by their file name.

An upload is accepted when its bytes are a ``.cpz`` file or an image in one of the raster formats
Pillow reads that photos come in (plus every format a registered codec writes). Formats that would
run external programs or that are not images (EPS, PDF, ...) are never tried. The pixel count is
read from the header and checked before any pixel is decoded, so a small file that claims to be a
huge image (a decompression bomb) costs nothing.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from convpress.api import decompress
from convpress.codecs.registry import codec_class, codec_names
from convpress.coding.container import is_cpz, unpack
from convpress.errors import ConvpressError, CorruptDataError, UnsupportedImageError
from convpress.imageio import open_image
from convpress.service.limits import too_large_message

COMMON_RASTER_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF", "PPM", "TGA", "QOI")
CPZ_FORMAT = "cpz"


class UploadTooLargeError(ConvpressError):
    """An upload over the size or pixel limit (HTTP 413)."""


class UnreadableUploadError(UnsupportedImageError):
    """An upload whose content is not an image of an accepted format (HTTP 415)."""


@dataclass(frozen=True)
class UploadedImage:
    image: Image.Image
    """Normalised to L, RGB or RGBA, EXIF orientation applied."""
    format: str
    """``cpz`` or Pillow's name of the format, lower case (``png``, ``jpeg``, ...)."""


@functools.cache
def accepted_formats() -> tuple[str, ...]:
    """Pillow formats an upload may be in: common raster formats and those of the codecs."""
    names = codec_names(available_only=False)
    codec_formats = (getattr(codec_class(name), "pillow_format", None) for name in names)
    return tuple(dict.fromkeys((*COMMON_RASTER_FORMATS, *(f for f in codec_formats if f))))


def check_upload_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise UploadTooLargeError(too_large_message(len(data), max_bytes))
    if not data:
        raise UnreadableUploadError("the uploaded file is empty")


def read_upload(data: bytes, max_pixels: int) -> UploadedImage:
    """The image in ``data``, refusing unknown content (415), corrupt files (422) and huge images (413)."""
    width, height, fmt = probe(data)
    if width * height > max_pixels:
        raise UploadTooLargeError(
            f"image too large: {width}x{height} is {width * height / 1e6:.1f} megapixels, "
            f"over the limit of {max_pixels / 1e6:.1f}"
        )
    if fmt == CPZ_FORMAT:
        return UploadedImage(decompress(data), fmt)
    try:
        image = open_image(data)
    except UnsupportedImageError as exc:
        raise CorruptDataError(f"the {fmt.upper()} file is corrupt or truncated ({exc})") from exc
    return UploadedImage(image, fmt)


def probe(data: bytes) -> tuple[int, int, str]:
    """Width, height and format from the header alone."""
    if is_cpz(data):
        header, _ = unpack(data)
        return header.width, header.height, CPZ_FORMAT
    try:
        with Image.open(io.BytesIO(data), formats=list(accepted_formats())) as image:
            return image.width, image.height, (image.format or "image").lower()
    except Image.DecompressionBombError as exc:
        raise UploadTooLargeError(f"image too large: {exc}") from exc
    except UnidentifiedImageError:
        raise UnreadableUploadError(
            "the upload is not an image in a supported format (PNG, JPEG, WebP, TIFF, AVIF, HEIC, "
            "JPEG XL, JPEG 2000, BMP, GIF or .cpz); the content decides, not the file name"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptDataError(f"the image header is corrupt ({exc})") from exc
