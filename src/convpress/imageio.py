"""Reading and writing images: modes, bit depth, orientation, and safe (atomic) output.

Codecs work on PIL images in one of three modes: ``L`` (gray), ``RGB`` and ``RGBA``. Everything a
user may hand us (palette PNGs, 16-bit TIFFs, CMYK JPEGs, EXIF-rotated photos) is normalised here,
once, so the codecs never have to care.
"""

from __future__ import annotations

import io
import os
import secrets
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from convpress.errors import ConvpressError, OutputExistsError, UnsupportedImageError

SUPPORTED_MODES = ("L", "RGB", "RGBA")

# Refuse absurd images before decoding them (decompression bombs); 400 MP covers real photos.
MAX_IMAGE_PIXELS = 400_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


def _register_optional_plugins() -> None:
    """Make Pillow read HEIC/AVIF-in-HEIF and JPEG XL inputs when those plugins are installed."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # pragma: no cover - optional at import time, required by pyproject
        pass
    try:
        import pillow_jxl  # noqa: F401  (registers the JXL plugin on import)
    except ImportError:  # pragma: no cover
        pass


_register_optional_plugins()


def _to_8bit(image: Image.Image) -> Image.Image:
    """Reduce 16-bit and 32-bit integer/float images to 8-bit, with a warning (data is lost)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        warnings.warn(
            f"image has mode {image.mode} (more than 8 bits per sample); reducing to 8-bit",
            stacklevel=3,
        )
        array = np.asarray(image).astype(np.float64)
        peak = 65535.0 if image.mode != "F" or array.max() > 1.0 else 1.0
        if image.mode == "I" and array.max() <= 255:
            peak = 255.0
        array = np.clip(np.round(array / peak * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(array, mode="L")
    return image


def normalize_mode(image: Image.Image) -> Image.Image:
    """Return ``image`` in L, RGB or RGBA; palette, LA, CMYK, 1-bit and 16-bit are converted."""
    image = _to_8bit(image)
    if image.mode in SUPPORTED_MODES:
        return image
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "LA" or image.mode == "PA":
        return image.convert("RGBA")
    if image.mode == "P":
        has_alpha = "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if image.mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
        return image.convert("RGB")
    raise UnsupportedImageError(f"unsupported image mode {image.mode!r}")


def open_image(source: str | os.PathLike | bytes | Image.Image | np.ndarray) -> Image.Image:
    """Load an image from a path, bytes, a PIL image or a uint8 array, as L, RGB or RGBA.

    EXIF orientation is applied so the pixels are the ones a viewer shows.
    """
    if isinstance(source, Image.Image):
        return normalize_mode(source)
    if isinstance(source, np.ndarray):
        return normalize_mode(array_to_image(source))
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            image = Image.open(io.BytesIO(bytes(source)))
        else:
            path = Path(source)
            if not path.is_file():
                raise ConvpressError(f"no such file: {path}")
            image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise UnsupportedImageError(f"cannot read image: {exc}") from exc
    image = ImageOps.exif_transpose(image) or image
    return normalize_mode(image)


def array_to_image(array: np.ndarray) -> Image.Image:
    """Wrap an HxW, HxWx1, HxWx3 or HxWx4 uint8 array as a PIL image."""
    if array.dtype != np.uint8:
        raise UnsupportedImageError(f"expected a uint8 array, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        return Image.fromarray(array, mode="L")
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return Image.fromarray(array, mode="RGB" if array.shape[2] == 3 else "RGBA")
    raise UnsupportedImageError(f"cannot interpret array of shape {array.shape} as an image")


def image_to_array(image: Image.Image) -> np.ndarray:
    """HxW (gray) or HxWxC uint8 array of a normalised image."""
    return np.asarray(normalize_mode(image))


def write_atomic(path: str | os.PathLike, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    A failure part-way leaves no half-written file, and an existing file is only replaced when
    ``force`` is true.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists; use --force to overwrite it")
    if path.is_dir():
        raise ConvpressError(f"{path} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConvpressError(f"output directory {parent} does not exist")
    # Not mkstemp: its files are 0600, and the rename would leave the output unreadable to others.
    # O_EXCL with a random name is just as safe, and the mode then follows the umask like open().
    tmp_name = parent / f".{path.name}.{secrets.token_hex(8)}.part"
    fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return path


def encode_png(image: Image.Image) -> bytes:
    """Lossless PNG bytes of ``image`` (used to save decoded results)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
