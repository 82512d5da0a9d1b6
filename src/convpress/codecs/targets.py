"""Encoding to a target instead of a quality: a size in bytes, bits per pixel, or a PSNR.

Any lossy codec works: the search bisects its 1-100 quality scale (on which size and PSNR grow
with quality) until the result is within 3% of the target, and says clearly when the target lies
outside what the codec can reach (returning the closest end). Codecs whose analysis does not depend
on quality (the learned codec) supply a :meth:`~convpress.codecs.base.Codec.quality_encoder` that
reuses it across the search. Codecs whose encode is expensive (the overfitted codec trains a model
per encode) supply a :meth:`~convpress.codecs.base.Codec.preview_encoder`: the bisection runs on
the cheap previews, and the real encoder is then called only at the quality the previews point to,
corrected from how far each real encode lands from its preview (one to four real encodes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from convpress.codecs.base import QUALITY_MAX, QUALITY_MIN, Codec
from convpress.deadline import check_deadline
from convpress.errors import InvalidParameterError

TOLERANCE = 0.03
MAX_STEPS = 16
MAX_REAL_ENCODES = 4
"""Real encodes after a preview search before settling for the closest one."""
QUALITY_GRID = np.round(np.arange(QUALITY_MIN, QUALITY_MAX + 0.005, 0.01), 2)
"""The qualities a search after previews may choose (those of the bisection: two decimals)."""
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "k": 1000, "kib": 1024, "mb": 1000**2, "m": 1000**2, "mib": 1024**2}


@dataclass(frozen=True)
class TargetResult:
    data: bytes
    quality: float
    achieved: float
    reached: bool
    """Whether ``achieved`` is within 3% of the target."""


def parse_size(text: str) -> int:
    """``"40KB"`` -> 40000, ``"1.5MiB"`` -> 1572864, ``"12000"`` -> 12000 (bytes)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise InvalidParameterError(f"cannot read a size from {text!r} (examples: 40KB, 1.5MB, 12000)")
    size = int(round(float(match.group(1)) * _SIZE_UNITS[unit]))
    if size <= 0:
        raise InvalidParameterError(f"target size must be positive, got {text!r}")
    return size


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    mse = float(np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def encode_to_target(
    codec: Codec,
    image: Image.Image,
    *,
    target_bpp: float | None = None,
    target_size: int | str | None = None,
    target_psnr: float | None = None,
    **options,
) -> TargetResult:
    """Encode ``image`` so its size, bpp or PSNR is as close as possible to the one target given."""
    given = [t for t in (target_bpp, target_size, target_psnr) if t is not None]
    if len(given) != 1:
        raise InvalidParameterError("give exactly one of target_bpp, target_size, target_psnr")
    if not codec.lossy:
        raise InvalidParameterError(f"{codec.name} is lossless: it has no rate to target")
    encode_at = codec.quality_encoder(image, **options)
    pixels = image.width * image.height
    if target_bpp is not None:
        what, target, measure = "bpp", float(target_bpp), lambda data: 8 * len(data) / pixels
    elif target_size is not None:
        size = parse_size(target_size) if isinstance(target_size, str) else target_size
        what, target, measure = "size", float(size), lambda data: float(len(data))
    else:
        reference = np.asarray(image)
        mode = image.mode
        what, target = "PSNR", float(target_psnr)

        def measure(data: bytes) -> float:
            return psnr(reference, np.asarray(codec.decode(data).convert(mode)))

    if target <= 0:
        raise InvalidParameterError(f"target {what} must be positive, got {target:g}")
    preview = codec.preview_encoder(image, **options)
    if preview is None:
        return _bisect(encode_at, measure, target)
    return _search_with_preview(preview, encode_at, measure, target)


def _bisect(
    encode_at: Callable[[float], bytes], measure: Callable[[bytes], float], target: float, tried: dict[float, float] | None = None
) -> TargetResult:
    """The closest result of a bisection over quality; ``tried`` collects every (quality, value) measured."""
    low, high = QUALITY_MIN, QUALITY_MAX
    best: TargetResult | None = None
    tried = {} if tried is None else tried
    for _ in range(MAX_STEPS):
        quality = round((low + high) / 2, 2)
        if quality in tried:
            break
        check_deadline()
        data = encode_at(quality)
        value = measure(data)
        tried[quality] = value
        best = _closer(best, TargetResult(data, quality, value, abs(value - target) <= TOLERANCE * target), target)
        if abs(value - target) <= TOLERANCE * target / 3:
            break
        low, high = (quality, high) if value < target else (low, quality)
    assert best is not None
    if not best.reached:
        for edge in (QUALITY_MIN, QUALITY_MAX):
            check_deadline()
            data = encode_at(edge)
            value = tried[edge] = measure(data)
            best = _closer(best, TargetResult(data, edge, value, abs(value - target) <= TOLERANCE * target), target)
    return best


def _search_with_preview(
    preview: Callable[[float], bytes], encode_at: Callable[[float], bytes], measure: Callable[[bytes], float], target: float
) -> TargetResult:
    """Bisect on the previews, then encode for real where the preview curve, corrected by the real
    encodes so far, meets the target.

    Size and PSNR are compared on a log scale. A real encode differs from the preview of the same
    quality by a factor (0.7 for the rate of an 800-iteration overfit encode against its
    100-iteration preview, on a Kodak crop) that changes slowly with quality: the correction is that
    factor at each real encode, interpolated between them and held constant beyond them.
    """
    curve: dict[float, float] = {}
    quality = _bisect(preview, measure, target, curve).quality
    qualities = np.array(sorted(curve))
    # Made non-decreasing: rate and PSNR grow with quality.
    preview_curve = _extended(QUALITY_GRID, qualities, np.maximum.accumulate([_log(curve[q]) for q in qualities]))
    best: TargetResult | None = None
    shifts: dict[float, float] = {}
    for _ in range(MAX_REAL_ENCODES):
        check_deadline()
        data = encode_at(quality)
        value = measure(data)
        best = _closer(best, TargetResult(data, quality, value, abs(value - target) <= TOLERANCE * target), target)
        if best.reached:
            break
        shifts[quality] = _log(value) - float(np.interp(quality, QUALITY_GRID, preview_curve))
        corrected = sorted(shifts)
        model = preview_curve + np.interp(QUALITY_GRID, corrected, [shifts[q] for q in corrected])
        quality = float(QUALITY_GRID[np.argmin(np.abs(model - _log(target)))])
        if quality in shifts:
            break
    assert best is not None
    return best


def _extended(x: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolation through (xs, ys), extended beyond the ends along the end segments.

    The previews of a bisection cluster around the preview's answer; the real encodes may need a
    quality beyond them.
    """
    inside = np.interp(x, xs, ys)
    if len(xs) < 2:
        return inside
    low_slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
    high_slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    below, above = x < xs[0], x > xs[-1]
    return np.where(below, ys[0] + (x - xs[0]) * low_slope, np.where(above, ys[-1] + (x - xs[-1]) * high_slope, inside))


def _log(value: float) -> float:
    """log of a size or PSNR, kept finite (a lossless result has infinite PSNR)."""
    return float(np.log(min(max(value, 1e-12), 1e12)))


def _closer(best: TargetResult | None, candidate: TargetResult, target: float) -> TargetResult:
    if best is None or abs(candidate.achieved - target) < abs(best.achieved - target):
        return candidate
    return best
