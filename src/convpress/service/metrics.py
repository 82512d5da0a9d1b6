"""PSNR and MS-SSIM of a result against the uploaded original, as JSON-ready numbers.

Same conventions as the evaluation harness: 8-bit samples, alpha dropped, gray compared as gray
when both images are gray (else as RGB), MS-SSIM with ``data_range=255`` and its 5 default scales,
which need both sides above 160 px. JSON has no infinity or NaN, so identical images report
``psnr=None`` with ``identical=True`` and images too small for MS-SSIM report ``ms_ssim=None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from pytorch_msssim import ms_ssim

from convpress.errors import UnsupportedImageError

PEAK = 255.0
MS_SSIM_MIN_SIDE = 161


@dataclass(frozen=True)
class Distortion:
    psnr: float | None
    """dB; None when the images are identical (infinite PSNR)."""
    ms_ssim: float | None
    """None when a side is under :data:`MS_SSIM_MIN_SIDE` pixels, or when it was not asked for."""
    identical: bool


def comparable_arrays(reference: Image.Image, result: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Both images as HxWxC float64 arrays of the same colour channels (alpha dropped)."""
    if reference.size != result.size:
        raise UnsupportedImageError(
            f"cannot compare images of different sizes: {reference.width}x{reference.height} "
            f"and {result.width}x{result.height}"
        )
    mode = "L" if reference.mode == result.mode == "L" else "RGB"
    arrays = []
    for image in (reference, result):
        array = np.asarray(image if image.mode == mode else image.convert(mode), dtype=np.float64)
        arrays.append(array[:, :, np.newaxis] if array.ndim == 2 else array)
    return arrays[0], arrays[1]


def distortion(reference: Image.Image, result: Image.Image, with_ms_ssim: bool = True) -> Distortion:
    """How far ``result`` is from ``reference``; ``with_ms_ssim=False`` skips MS-SSIM (10x the cost)."""
    a, b = comparable_arrays(reference, result)
    mse = float(np.mean(np.square(a - b)))
    psnr = None if mse == 0 else 10.0 * math.log10(PEAK * PEAK / mse)
    return Distortion(psnr=psnr, ms_ssim=_ms_ssim(a, b) if with_ms_ssim else None, identical=mse == 0)


def _ms_ssim(a: np.ndarray, b: np.ndarray) -> float | None:
    if min(a.shape[:2]) < MS_SSIM_MIN_SIDE:
        return None
    with torch.inference_mode():
        value = float(ms_ssim(_as_batch(a), _as_batch(b), data_range=PEAK))
    return value if math.isfinite(value) else None


def _as_batch(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float()[None]
