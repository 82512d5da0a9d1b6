"""The one interface every codec implements, classical or learned.

A codec turns an image (PIL, mode L/RGB/RGBA) into bytes and back. Lossy codecs share a quality
scale from 1 (smallest file) to 100 (best quality); each codec maps it to its own knob and says
how in its docstring. Codecs that have a lossless mode take ``lossless=True``. Settings beyond
quality (chroma subsampling, encoder speed, ...) are declared as :class:`CodecOption` so that the
command line and the service can pass them as text without knowing the codec.

Codecs compress pixel values only: metadata (EXIF, ICC profile, XMP) is not stored, so file sizes
compare codecs rather than metadata and the decoded pixels are the ones that were encoded.
"""

from __future__ import annotations

import abc
import io
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from PIL import Image, UnidentifiedImageError, features

from convpress.errors import CorruptDataError, InvalidParameterError, UnsupportedImageError
from convpress.imageio import normalize_mode

QUALITY_MIN = 1.0
QUALITY_MAX = 100.0
DEFAULT_QUALITY = 75.0
FTYP_READ_LIMIT = 256
"""Bytes of an ISO-BMFF ``ftyp`` box read when sniffing; real ones list a handful of brands."""


def check_quality(quality: float) -> float:
    """Validate the common 1-100 quality scale."""
    try:
        quality = float(quality)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"quality must be a number, got {quality!r}") from None
    if not QUALITY_MIN <= quality <= QUALITY_MAX:
        raise InvalidParameterError(
            f"quality must be between {QUALITY_MIN:g} and {QUALITY_MAX:g}, got {quality:g}"
        )
    return quality


@dataclass(frozen=True)
class CodecOption:
    """An encoder setting beyond quality: its default, the values it accepts and what it does.

    Values arrive typed from Python callers and as text from ``--option key=value``;
    :meth:`parse` accepts both, so front ends need no per-codec code. An option is an integer
    option when its default is an ``int`` (with an optional inclusive range), otherwise a text
    option restricted to ``choices``.
    """

    name: str
    default: str | int
    help: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def parse(self, value: object) -> str | int:
        """The validated value, converted to the option's type."""
        if isinstance(self.default, int):
            return self._parse_int(value)
        text = str(value)
        if self.choices and text not in self.choices:
            raise InvalidParameterError(
                f"option {self.name} must be one of {', '.join(self.choices)}, got {text!r}"
            )
        return text

    def _parse_int(self, value: object) -> int:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise InvalidParameterError(f"option {self.name} must be an integer, got {value!r}") from None
        if (self.minimum is not None and number < self.minimum) or (
            self.maximum is not None and number > self.maximum
        ):
            raise InvalidParameterError(
                f"option {self.name} must be between {self.minimum} and {self.maximum}, got {number}"
            )
        return number

    def describe(self) -> str:
        """One line for listings: ``name=default (accepted values): help``."""
        if self.choices:
            accepted = "|".join(self.choices)
        else:
            accepted = f"{self.minimum}-{self.maximum}"
        return f"{self.name}={self.default} ({accepted}): {self.help}"


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
    max_side: ClassVar[int | None] = None
    """Largest width or height the format can store, where the format has such a limit."""
    options: ClassVar[tuple[CodecOption, ...]] = ()
    """Encoder settings beyond quality that ``encode`` accepts as keyword arguments."""
    interactive: ClassVar[bool] = True
    """False for codecs whose encoder takes minutes (the overfitted codec): they are left out of
    default sweeps and comparisons and run only when asked for by name."""

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

    @classmethod
    def unavailable_reason(cls) -> str:
        """What is missing when :meth:`is_available` is False, for the user's error message."""
        return "needs a library that is not installed"

    def quality_encoder(self, image: Image.Image, **options) -> Callable[[float], bytes]:
        """A function quality -> bytes for this image, used by searches over quality.

        Codecs with quality-independent work (the learned codec's analysis transform) override it
        to do that work once.
        """
        return lambda quality: self.encode(image, quality=quality, **options)

    def preview_encoder(self, image: Image.Image, **options) -> Callable[[float], bytes] | None:
        """A much cheaper encoder whose size and PSNR follow this one's as quality varies, or None.

        Rate searches (:mod:`convpress.codecs.targets`) locate the target with it and then spend
        only a few real encodes. Worth it only where an encode is expensive (the overfitted
        codec, whose preview trains for fewer iterations); None, the default, searches with real
        encodes throughout.
        """
        return None

    def decoded_mode(self, mode: str) -> str:
        """Mode :meth:`decode` returns for an image encoded from ``mode`` (the same by default).

        Formats without a gray mode (WebP) give gray images back as RGB; evaluation code uses this
        to compare like with like.
        """
        return mode

    def check_mode(self, image: Image.Image) -> None:
        """Refuse images whose mode the format cannot store."""
        if image.mode not in self.modes:
            accepted = ", ".join(sorted(self.modes))
            raise UnsupportedImageError(
                f"{self.name} cannot store {image.mode} images (it accepts {accepted})"
            )

    def check_size(self, image: Image.Image) -> None:
        """Refuse empty images and images larger than the format allows."""
        width, height = image.size
        if width < 1 or height < 1:
            raise UnsupportedImageError(f"{self.name} cannot store an empty {width}x{height} image")
        if self.max_side is not None and max(width, height) > self.max_side:
            raise UnsupportedImageError(
                f"{self.name} stores images up to {self.max_side} pixels a side, got {width}x{height}"
            )

    def resolve_options(self, given: Mapping[str, object]) -> dict[str, str | int]:
        """Every declared option, with its default or the validated given value.

        Unknown names are refused rather than ignored, so a misspelt option cannot silently fall
        back to a default.
        """
        declared = {option.name: option for option in self.options}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            accepted = ", ".join(declared) or "none"
            raise InvalidParameterError(
                f"{self.name} has no option {', '.join(unknown)} (its options: {accepted})"
            )
        return {
            name: option.parse(given[name]) if name in given else option.default
            for name, option in declared.items()
        }


class PillowCodec(Codec):
    """A codec implemented by Pillow's ``save``/``open`` for one format (or a Pillow plugin's).

    Subclasses set ``pillow_format`` and implement :meth:`save_options`, which maps the common
    quality and options to the library's own parameters (always explicitly: several libraries
    default to lossless or to no colour transform).
    """

    pillow_format: ClassVar[str]
    pillow_feature: ClassVar[str | None] = None
    """Name for :func:`PIL.features.check` of the library the format needs, if Pillow knows it."""

    @abc.abstractmethod
    def save_options(
        self, image: Image.Image, quality: float, lossless: bool, settings: Mapping[str, str | int]
    ) -> dict:
        """Keyword arguments for ``Image.save``.

        ``quality`` is on the validated 1-100 scale, except in lossless mode where it means
        nothing; ``settings`` holds every declared option, resolved by
        :meth:`Codec.resolve_options`.
        """

    def prepare(self, image: Image.Image) -> Image.Image:
        """Hook to adapt an image before saving (e.g. convert modes); default: unchanged."""
        return image

    @classmethod
    def is_available(cls) -> bool:
        Image.init()
        has_library = cls.pillow_feature is None or bool(features.check(cls.pillow_feature))
        return has_library and cls.pillow_format in Image.SAVE and cls.pillow_format in Image.OPEN

    def encode(
        self, image: Image.Image, quality: float = DEFAULT_QUALITY, *, lossless: bool = False, **options
    ) -> bytes:
        self.check_mode(image)
        self.check_size(image)
        if lossless and not self.lossless:
            raise InvalidParameterError(f"{self.name} has no lossless mode")
        lossless = lossless or not self.lossy
        if not lossless:
            quality = check_quality(quality)
        kwargs = self.save_options(image, quality, lossless, self.resolve_options(options))
        pixels = pixels_only(self.prepare(image))
        buffer = io.BytesIO()
        try:
            pixels.save(buffer, format=self.pillow_format, **kwargs)
        except (OSError, RuntimeError, ValueError) as exc:
            raise UnsupportedImageError(
                f"{self.name} encoder failed on a {image.width}x{image.height} {image.mode} image: {exc}"
            ) from exc
        return buffer.getvalue()

    def decode(self, data: bytes) -> Image.Image:
        return decode_with_pillow(data, self.name, formats=(self.pillow_format,))


def pixels_only(image: Image.Image) -> Image.Image:
    """A copy of ``image`` that carries pixels and nothing else.

    Pillow's writers pick up metadata from ``image.info`` (ICC, EXIF), options left in
    ``image.encoderinfo`` (which override the ones passed to ``save``), and the JPEG XL plugin even
    re-reads ``image.filename`` to transcode the original JPEG; a bare copy makes each encode depend
    only on the pixels and the options given.
    """
    bare = image.copy()  # a plain Image: no format, filename or encoderinfo
    bare.info = {}
    return bare


def decode_with_pillow(data: bytes, codec_name: str, formats: tuple[str, ...] | None = None) -> Image.Image:
    """Decode ``data`` with Pillow, turning every library failure into :class:`CorruptDataError`."""
    if not data:
        raise CorruptDataError(f"{codec_name}: empty input")
    try:
        image = Image.open(io.BytesIO(data), formats=list(formats) if formats else None)
        image.load()
    except UnidentifiedImageError as exc:  # its message names a BytesIO object, useless to users
        raise CorruptDataError(f"{codec_name}: not a valid {codec_name} file (corrupt or truncated header)") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, ...
        raise CorruptDataError(f"{codec_name}: cannot decode data ({exc})") from exc
    return normalize_mode(image)


def isobmff_brands(data: bytes) -> frozenset[bytes]:
    """Major and compatible brands of an ISO base media file (HEIF, AVIF), empty if none.

    HEIC and AVIF share the container and may share the major brand (``mif1``), so sniffing them
    apart needs the compatible brands too.
    """
    if len(data) < 16 or data[4:8] != b"ftyp":
        return frozenset()
    box_size = struct.unpack(">I", data[:4])[0]
    if box_size < 16:
        return frozenset()
    end = min(box_size, len(data), FTYP_READ_LIMIT)
    compatible = (data[offset : offset + 4] for offset in range(16, end - 3, 4))
    return frozenset({data[8:12], *compatible})
