"""PSNR and MS-SSIM of a result against the uploaded original, as JSON-ready numbers.

The numbers are the evaluation harness's (:func:`convpress.evaluation.metrics.distortion`); JSON
has no infinity or NaN, so identical images report ``psnr=None`` with ``identical=True`` and images
too small for MS-SSIM (or when it was not asked for) report ``ms_ssim=None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from convpress.evaluation import metrics


@dataclass(frozen=True)
class Distortion:
    psnr: float | None
    """dB; None when the images are identical (infinite PSNR)."""
    ms_ssim: float | None
    """None when a side is too small for MS-SSIM, or when it was not asked for."""
    identical: bool


def distortion(reference: Image.Image, result: Image.Image, with_ms_ssim: bool = True) -> Distortion:
    """How far ``result`` is from ``reference``; ``with_ms_ssim=False`` skips MS-SSIM (10x the cost)."""
    scores = metrics.distortion(reference, result, with_ms_ssim)
    psnr, similarity = scores["psnr-rgb"], scores["ms-ssim"]
    return Distortion(
        psnr=psnr if math.isfinite(psnr) else None,
        ms_ssim=similarity if math.isfinite(similarity) else None,
        identical=math.isinf(psnr),
    )
