"""Bjøntegaard delta rate and delta PSNR between two rate-distortion curves.

BD-rate is the average bit-rate difference of a *test* curve against an *anchor* curve at equal
quality, in percent (negative: the test needs fewer bits); BD-PSNR is the average quality
difference at equal rate, in dB (positive: the test is better). Both fit each curve with a smooth
function of the logarithm of the rate and average the gap between the two over the range where
the curves overlap (Bjøntegaard, VCEG-M33, 2001).

Two fits are offered:

- ``"cubic"``: the original least-squares cubic polynomial through all points;
- ``"pchip"``: a piecewise cubic Hermite interpolant through the points (VCEG-AL22 / JVET-style),
  which cannot overshoot between points and so behaves on curves with many points.

The conventions are those of the ``bjontegaard`` package (log10 of the rate; the integration
interval is the overlap of the two curves); the base of the logarithm does not change either
result. Points with the same abscissa are merged (their ordinates averaged) so that codecs whose
quality settings collapse onto one operating point still give a valid interpolant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.interpolate import PchipInterpolator

BD_METHODS = ("cubic", "pchip")
_MIN_POINTS = {"cubic": 4, "pchip": 2}


def bd_rate(
    rate_anchor: Sequence[float],
    quality_anchor: Sequence[float],
    rate_test: Sequence[float],
    quality_test: Sequence[float],
    method: str = "cubic",
) -> float:
    """Average rate difference of test vs anchor at equal quality, in percent.

    ``rate`` is any rate measure (bpp, bytes, kbit/s) and ``quality`` any "higher is better"
    measure (PSNR in dB, MS-SSIM in dB). NaN when the curves do not overlap in quality or have
    too few points for the fit (4 for cubic, 2 for PCHIP).
    """
    log_rate_gap = _mean_gap(quality_anchor, np.log10(_positive(rate_anchor)),
                             quality_test, np.log10(_positive(rate_test)), method)
    return float((10.0**log_rate_gap - 1.0) * 100.0)


def bd_psnr(
    rate_anchor: Sequence[float],
    quality_anchor: Sequence[float],
    rate_test: Sequence[float],
    quality_test: Sequence[float],
    method: str = "cubic",
) -> float:
    """Average quality difference of test vs anchor at equal rate (dB for PSNR).

    NaN when the curves do not overlap in rate or have too few points for the fit.
    """
    return _mean_gap(np.log10(_positive(rate_anchor)), quality_anchor,
                     np.log10(_positive(rate_test)), quality_test, method)


def _positive(rates: Sequence[float]) -> np.ndarray:
    array = np.asarray(rates, dtype=np.float64)
    if np.any(array <= 0):
        raise ValueError("rates must be positive for a Bjøntegaard delta")
    return array


def _mean_gap(x_anchor, y_anchor, x_test, y_test, method: str) -> float:
    """Mean of ``f_test(x) - f_anchor(x)`` over the overlap of the two x ranges."""
    if method not in BD_METHODS:
        raise ValueError(f"unknown Bjøntegaard fit {method!r}; choose one of {', '.join(BD_METHODS)}")
    anchor = _merged_points(x_anchor, y_anchor)
    test = _merged_points(x_test, y_test)
    if min(len(anchor[0]), len(test[0])) < _MIN_POINTS[method]:
        return math.nan
    low = max(anchor[0][0], test[0][0])
    high = min(anchor[0][-1], test[0][-1])
    if high <= low:
        return math.nan
    area_test = _integral(*test, low, high, method)
    area_anchor = _integral(*anchor, low, high, method)
    return (area_test - area_anchor) / (high - low)


def _merged_points(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Points sorted by x, with the y values of equal x averaged; rejects NaN and infinities."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"a curve needs as many rates as qualities, got {x.size} and {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("curve points must be finite numbers")
    unique_x, index = np.unique(x, return_inverse=True)
    mean_y = np.bincount(index, weights=y) / np.bincount(index)
    return unique_x, mean_y


def _integral(x: np.ndarray, y: np.ndarray, low: float, high: float, method: str) -> float:
    """Integral over [low, high] of the fitted curve y(x)."""
    if method == "cubic":
        antiderivative = np.polyint(np.polyfit(x, y, 3))
        return float(np.polyval(antiderivative, high) - np.polyval(antiderivative, low))
    return float(PchipInterpolator(x, y).integrate(low, high))
