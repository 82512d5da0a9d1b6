"""Rate and distortion metrics, computed the way the learned-compression literature reports them.

The conventions follow CompressAI's codec benchmark (``compressai.utils.bench``), so that our
numbers can be put on the same plot as its published curves:

- **bpp** is ``8 * len(encoded bytes) / (width * height)``: the real file size, headers included.
- **PSNR-RGB** is ``10 log10(255^2 / MSE)`` with the MSE taken over every RGB sample of the 8-bit
  images of *one* image; a data set's PSNR is the mean of the per-image PSNRs (not the PSNR of the
  mean MSE).
- **MS-SSIM** is :func:`pytorch_msssim.ms_ssim` on the 8-bit RGB values with ``data_range=255``
  and the default 5 scales and 11-tap window.

Gray images are compared on their one channel: for PSNR that equals comparing the gray value
replicated into R, G and B, and MS-SSIM averages its per-channel values, so replication would not
change it either. Alpha is not part of any metric (the formats we compare store it losslessly or
not at all); it is dropped before comparing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from PIL import Image

from convpress.errors import UnsupportedImageError

PEAK = 255.0

BT601_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
"""ITU-R BT.601 luma weights (full range, as in JFIF): Y = 0.299 R + 0.587 G + 0.114 B."""

MS_SSIM_MIN_SIDE = 161
"""Smallest image side MS-SSIM accepts: 5 scales (4 halvings) of an 11-tap window need > 160 px."""

T = TypeVar("T")


def bits_per_pixel(num_bytes: int, width: int, height: int) -> float:
    """Bits of the encoded file per image pixel (not per sample): the field's rate measure."""
    return 8.0 * num_bytes / (width * height)


def compression_ratio(image: Image.Image, num_bytes: int) -> float:
    """Size of the raw 8-bit samples divided by the encoded size (e.g. 24 bpp RGB at 1 bpp -> 24)."""
    raw_bytes = image.width * image.height * len(image.getbands())
    return raw_bytes / num_bytes


def color_arrays(reference: Image.Image, decoded: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Both images as float64 HxWxC arrays of the same colour channels, alpha dropped.

    A gray image compared with an RGB one (a codec may decode gray to RGB) is promoted to RGB.
    """
    if reference.size != decoded.size:
        raise UnsupportedImageError(
            f"cannot compare images of different sizes: {reference.width}x{reference.height} "
            f"and {decoded.width}x{decoded.height}"
        )
    target_mode = "L" if reference.mode == decoded.mode == "L" else "RGB"
    arrays = []
    for image in (reference, decoded):
        same_mode = image if image.mode == target_mode else image.convert(target_mode)
        array = np.asarray(same_mode, dtype=np.float64)
        arrays.append(array[:, :, np.newaxis] if array.ndim == 2 else array)
    return arrays[0], arrays[1]


def mse(reference: Image.Image, decoded: Image.Image) -> float:
    """Mean squared error over all colour samples of one image pair."""
    return float(np.mean(np.square(np.subtract(*color_arrays(reference, decoded)))))


def psnr_from_mse(value: float, peak: float = PEAK) -> float:
    """``10 log10(peak^2 / mse)``; identical images give ``inf``."""
    if value == 0:
        return math.inf
    return 10.0 * math.log10(peak * peak / value)


def psnr_rgb(reference: Image.Image, decoded: Image.Image) -> float:
    """PSNR over all RGB samples of one image (CompressAI's ``psnr-rgb``)."""
    return psnr_from_mse(mse(reference, decoded))


def luma(array: np.ndarray) -> np.ndarray:
    """BT.601 luma (full range, unrounded) of an HxWx3 array; a 1-channel array is its own luma."""
    if array.shape[2] == 1:
        return array[:, :, 0]
    return array @ BT601_LUMA_WEIGHTS


def psnr_y(reference: Image.Image, decoded: Image.Image) -> float:
    """PSNR of the BT.601 luma plane (full-range Y in [0, 255], as JPEG defines it)."""
    return _psnr_y(*color_arrays(reference, decoded))


def _psnr_y(a: np.ndarray, b: np.ndarray) -> float:
    return psnr_from_mse(float(np.mean(np.square(luma(a) - luma(b)))))


def ms_ssim(reference: Image.Image, decoded: Image.Image) -> float:
    """MS-SSIM on 8-bit RGB with ``data_range=255``; NaN when a side is under 161 px.

    MS-SSIM's five scales need the smaller side to exceed 160 px. Smaller images get NaN rather
    than a value from fewer scales, which would not be comparable with anyone's MS-SSIM; averages
    over a data set skip NaN values (see :func:`convpress.evaluation.curves.average_rows`).
    """
    return _ms_ssim(*color_arrays(reference, decoded))


def _ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    import torch
    from pytorch_msssim import ms_ssim as pytorch_ms_ssim

    if min(a.shape[:2]) < MS_SSIM_MIN_SIDE:
        return math.nan
    with torch.no_grad():
        return float(pytorch_ms_ssim(_as_batch(a), _as_batch(b), data_range=PEAK))


def _as_batch(array: np.ndarray):
    """HxWxC float array -> 1xCxHxW float32 tensor."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float()[None]


def distortion(reference: Image.Image, decoded: Image.Image, with_ms_ssim: bool = True) -> dict[str, float]:
    """``psnr-rgb``, ``psnr-y`` and ``ms-ssim`` of one pair, converting the images only once.

    ``with_ms_ssim=False`` leaves MS-SSIM as NaN: it costs ten times more than both PSNRs.
    """
    a, b = color_arrays(reference, decoded)
    return {
        "psnr-rgb": psnr_from_mse(float(np.mean(np.square(a - b)))),
        "psnr-y": _psnr_y(a, b),
        "ms-ssim": _ms_ssim(a, b) if with_ms_ssim else math.nan,
    }


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on the decibel scale the literature plots: ``-10 log10(1 - ms_ssim)``."""
    if value >= 1.0:
        return math.inf
    return -10.0 * math.log10(1.0 - value)


def timed(function: Callable[..., T], *args, **kwargs) -> tuple[T, float]:
    """Call ``function`` once; return its result and the wall-clock seconds it took."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def best_time(function: Callable[..., T], *args, repeats: int = 3, **kwargs) -> tuple[T, float]:
    """Call ``function`` ``repeats`` times; return the last result and the fastest time.

    The minimum is the usual estimate of a call's cost: slower runs measure other processes
    and cold caches, not the code.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    result, fastest = timed(function, *args, **kwargs)
    for _ in range(repeats - 1):
        result, seconds = timed(function, *args, **kwargs)
        fastest = min(fastest, seconds)
    return result, fastest
