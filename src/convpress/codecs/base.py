"""The one interface every codec implements, classical or learned.

A codec turns an image (PIL, mode L/RGB/RGBA) into bytes and back. Lossy codecs share a quality
scale from 1 (smallest file) to 100 (best quality); each codec maps it to its own knob and says
how in its docstring. Codecs that have a lossless mode take ``lossless=True``.
"""

from __future__ import annotations

import abc
import io
from typing import ClassVar

from PIL import Image

from convpress.errors import CorruptDataError, UnsupportedImageError

QUALITY_MIN = 1.0
QUALITY_MAX = 100.0
DEFAULT_QUALITY = 75.0


def check_quality(quality: float) -> float:
    """Validate the common 1-100 quality scale."""
    quality = float(quality)
    if not QUALITY_MIN <= quality <= QUALITY_MAX:
        raise ValueError(f"quality must be between {QUALITY_MIN:g} and {QUALITY_MAX:g}, got {quality:g}")
    return quality


class Codec(abc.ABC):
    """Base class of all codecs; subclasses register themselves with :func:`registry.register`.

    Class attributes describe the codec so that the CLI, the evaluation harness and the service can
    list and choose codecs without special cases.
    """

    name: ClassVar[str]
    """Registry key, e.g. ``"jpeg"``."""
    description: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()
    """File extensions (lower case, with dot) this codec writes; the first is the default."""
    lossy: ClassVar[bool] = True
    """Whether ``encode`` takes a quality (False for lossless-only formats such as PNG)."""
    default_qualities: ClassVar[tuple[float, ...]] = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
    """Quality sweep of ``convpress eval`` when none is given; a codec whose quality scale maps
    unevenly onto its rates overrides it so that its curve spans about 0.1-2 bpp on Kodak."""
    lossless: ClassVar[bool] = False
    """Whether ``encode(..., lossless=True)`` gives a bit-exact round trip."""
    modes: ClassVar[frozenset[str]] = frozenset({"L", "RGB", "RGBA"})
    """Image modes accepted by ``encode``; others are refused with a clear message."""

    @abc.abstractmethod
    def encode(self, image: Image.Image, quality: float = DEFAULT_QUALITY, **options) -> bytes:
        """Compress ``image``; ``quality`` is on the common 1-100 scale."""

    @abc.abstractmethod
    def decode(self, data: bytes) -> Image.Image:
        """Decompress bytes written by :meth:`encode` (or by any conforming encoder)."""

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        """True when ``data`` starts like a file of this codec (magic bytes)."""
        return False

    @classmethod
    def is_available(cls) -> bool:
        """False when the library behind the codec is missing from this installation."""
        return True

    def check_mode(self, image: Image.Image) -> None:
        """Refuse images whose mode the format cannot store."""
        if image.mode not in self.modes:
            accepted = ", ".join(sorted(self.modes))
            raise UnsupportedImageError(
                f"{self.name} cannot store {image.mode} images (it accepts {accepted})"
            )


class PillowCodec(Codec):
    """A codec implemented by Pillow's ``save``/``open`` for one format.

    Subclasses set ``pillow_format`` and implement :meth:`save_options`, which maps the common
    quality and options to the library's own parameters (always explicitly: several libraries
    default to lossless or to no colour transform).
    """

    pillow_format: ClassVar[str]

    @abc.abstractmethod
    def save_options(self, image: Image.Image, quality: float, **options) -> dict:
        """Keyword arguments for ``Image.save`` for this quality and these options."""

    def prepare(self, image: Image.Image) -> Image.Image:
        """Hook to adapt an image before saving (e.g. convert modes); default: unchanged."""
        return image

    def encode(self, image: Image.Image, quality: float = DEFAULT_QUALITY, **options) -> bytes:
        self.check_mode(image)
        if self.lossy and not options.get("lossless", False):
            quality = check_quality(quality)
        kwargs = self.save_options(image, quality, **options)
        buffer = io.BytesIO()
        self.prepare(image).save(buffer, format=self.pillow_format, **kwargs)
        return buffer.getvalue()

    def decode(self, data: bytes) -> Image.Image:
        return decode_with_pillow(data, self.name, formats=(self.pillow_format,))


def decode_with_pillow(data: bytes, codec_name: str, formats: tuple[str, ...] | None = None) -> Image.Image:
    """Decode ``data`` with Pillow, turning every library failure into :class:`CorruptDataError`."""
    if not data:
        raise CorruptDataError(f"{codec_name}: empty input")
    try:
        image = Image.open(io.BytesIO(data), formats=list(formats) if formats else None)
        image.load()
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, ...
        raise CorruptDataError(f"{codec_name}: cannot decode data ({exc})") from exc
    from convpress.imageio import normalize_mode

    return normalize_mode(image)
