"""``convpress.denoise`` and ``convpress.deblock``: CNN restoration in one call.

>>> import convpress
>>> clean = convpress.denoise("noisy.png")                  # blind: sigma estimated from the image
>>> clean = convpress.denoise(noisy_float_array, sigma=25)  # float input is used unclipped
>>> fixed = convpress.deblock("photo.jpg")                  # quality read from the JPEG's tables

Inputs: a path, bytes, a PIL image, or an array (HxW, HxWx1, HxWx3, HxWx4; uint8, or float on the
0-255 scale, which may lie outside 0-255, as unclipped noisy images do). The result has the input's
kind: a PIL image for paths, bytes and PIL images, an array of the same shape for arrays (float32
for float input, clipped to 0-255 but not rounded). Alpha passes through untouched. Images larger
than ``tile`` (default 1024) pixels a side run in overlapping tiles, seamlessly, with a progress
bar unless ``progress=False``.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from convpress.codecs.base import check_quality
from convpress.errors import InvalidParameterError, UnsupportedImageError
from convpress.imageio import open_image
from convpress.restoration.degradations import (
    MAX_SIGMA,
    check_sigma,
    estimate_jpeg_quality,
    estimate_noise_sigma,
    jpeg_level,
    noise_level,
)

ImageInput = str | os.PathLike | bytes | Image.Image | np.ndarray


@dataclass
class _Pixels:
    """An input split into what the network sees (float colour/gray planes) and what it must not."""

    planes: np.ndarray  # HxW or HxWx3 float32, 0-255 scale
    alpha: np.ndarray | None  # HxW uint8
    as_array: bool  # give an array back (else a PIL image)
    shape: tuple[int, ...]
    dtype: np.dtype


def _split(image: ImageInput) -> _Pixels:
    if isinstance(image, np.ndarray):
        return _split_array(image)
    picture = open_image(image)
    array = np.asarray(picture)
    alpha = array[:, :, 3] if picture.mode == "RGBA" else None
    planes = array[:, :, :3] if alpha is not None else array
    return _Pixels(planes.astype(np.float32), alpha, False, array.shape, array.dtype)


def _split_array(array: np.ndarray) -> _Pixels:
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise UnsupportedImageError(f"expected a uint8 or float array (0-255 scale), got {array.dtype}")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4))):
        raise UnsupportedImageError(f"cannot interpret array of shape {array.shape} as an image")
    if not np.isfinite(array).all():
        raise UnsupportedImageError("the image contains NaN or infinite values")
    planes = array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array
    alpha = None
    if planes.ndim == 3 and planes.shape[2] == 4:
        planes, alpha = planes[:, :, :3], planes[:, :, 3]
    return _Pixels(planes.astype(np.float32), alpha, True, array.shape, array.dtype)


def _join(pixels: _Pixels, restored: np.ndarray) -> Image.Image | np.ndarray:
    restored = np.clip(restored, 0, 255)
    if pixels.alpha is not None:
        restored = np.dstack([restored, pixels.alpha.astype(np.float32)])
    if pixels.as_array and np.issubdtype(pixels.dtype, np.floating):
        return restored.astype(np.float32).reshape(pixels.shape)
    rounded = np.round(restored).astype(np.uint8)
    return rounded.reshape(pixels.shape) if pixels.as_array else Image.fromarray(rounded)


def denoise(image: ImageInput, sigma: float | None = None, *, weights: str | os.PathLike | None = None,
            tile: int | None = None, progress: bool | None = None) -> Image.Image | np.ndarray:
    """Remove white Gaussian noise of ``sigma`` (0-75, 0-255 scale; None: estimated from the image)."""
    pixels = _split(image)
    sigma = _estimated_sigma(pixels) if sigma is None else check_sigma(sigma)
    return _join(pixels, _run("denoise", weights, pixels.planes, noise_level(sigma), tile, progress))


def deblock(image: ImageInput, quality: float | None = None, *, weights: str | os.PathLike | None = None,
            tile: int | None = None, progress: bool | None = None) -> Image.Image | np.ndarray:
    """Remove JPEG artifacts; ``quality`` (1-100) defaults to the one the JPEG's tables tell.

    Arrays and decoded images carry no tables: give their ``quality`` then.
    """
    quality = jpeg_quality_of(image) if quality is None else check_quality(quality)
    pixels = _split(image)
    return _join(pixels, _run("deblock", weights, pixels.planes, jpeg_level(quality), tile, progress))


def noise_sigma_of(image: ImageInput) -> float:
    """The Gaussian noise sigma (0-255 scale) that blind denoising uses for ``image``."""
    return _estimated_sigma(_split(image))


def _estimated_sigma(pixels: _Pixels) -> float:
    """Patch-PCA estimate, capped at the largest sigma the denoiser knows."""
    return min(estimate_noise_sigma(pixels.planes), MAX_SIGMA)


def _run(task: str, weights: str | os.PathLike | None, planes: np.ndarray, level: float, tile: int | None,
         progress: bool | None) -> np.ndarray:
    from convpress.restoration.inference import DEFAULT_TILE, load_model, restore  # torch: imported on first use

    return restore(load_model(task, weights), planes, level, DEFAULT_TILE if tile is None else tile, progress)


def jpeg_quality_of(image: ImageInput) -> float:
    """The IJG quality of a JPEG given as a path, bytes or opened PIL JPEG image."""
    if isinstance(image, Image.Image):
        return estimate_jpeg_quality(getattr(image, "quantization", None))
    if isinstance(image, np.ndarray):
        raise InvalidParameterError("an array has no JPEG quantization tables: pass quality=")
    source = io.BytesIO(bytes(image)) if isinstance(image, (bytes, bytearray, memoryview)) else image
    try:
        with Image.open(source) as opened:
            image_format = opened.format
            tables = getattr(opened, "quantization", None)
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedImageError(f"cannot read image: {exc}") from exc
    if image_format != "JPEG" or not tables:
        raise InvalidParameterError(f"deblocking needs a JPEG image, got {image_format or 'an unknown format'}")
    return estimate_jpeg_quality(tables)
