"""The degradations the restoration models undo, and how their strength is read off an image.

- Gaussian noise: added in float and never clipped (the "unclipped" protocol of DnCNN/FFDNet/
  DRUNet papers); its sigma is estimated from the image's patch covariance (Chen, Zhu and Heng, ICCV 2015, for
  colour; Liu, Tanaka and Okutomi, TIP 2013, for gray): its smallest eigenvalues are noise.
- JPEG: compressed with libjpeg-turbo through Pillow, as the jpeg codec does (IJG tables, 4:2:0
  for colour, 1-channel JPEG for gray); its quality is recovered from the quantisation tables.

Levels: the networks take a conditioning value per image, ``sigma / 255`` for noise and
``(100 - quality) / 100`` for JPEG (FBCNN's quality factor, turned so 0 means "no degradation").
"""

from __future__ import annotations

import io

import numpy as np
import scipy.stats
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from convpress.errors import InvalidParameterError

MAX_SIGMA = 75.0
"""Largest noise level (0-255 scale) the denoiser is trained for."""

MIN_TRAIN_QUALITY, MAX_TRAIN_QUALITY = 5, 95
"""JPEG qualities the deblocker is trained on; qualities outside are clamped to this range."""

# The IJG base tables (JPEG standard, Annex K), in natural (row-major) order.
_IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.float64)


def noise_level(sigma: float) -> float:
    """The denoiser's conditioning value for a noise sigma on the 0-255 scale."""
    return float(sigma) / 255.0


def jpeg_level(quality: float) -> float:
    """The deblocker's conditioning value for a JPEG quality (clamped to the trained range)."""
    quality = min(max(float(quality), MIN_TRAIN_QUALITY), MAX_TRAIN_QUALITY)
    return (100.0 - quality) / 100.0


def check_sigma(sigma: float) -> float:
    """A noise sigma within what the denoiser was trained for, or a clear error."""
    try:
        sigma = float(sigma)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"sigma must be a number, got {sigma!r}") from None
    if not 0.0 <= sigma <= MAX_SIGMA:
        raise InvalidParameterError(f"sigma must be between 0 and {MAX_SIGMA:g} (0-255 scale), got {sigma:g}")
    return sigma


def add_gaussian_noise(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """``image`` (0-255 scale) plus white Gaussian noise, as float32, neither clipped nor rounded."""
    rng = np.random.default_rng(seed)
    return (image.astype(np.float64) + rng.normal(0.0, sigma, size=image.shape)).astype(np.float32)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """Compress a uint8 HxW (gray) or HxWx3 array to JPEG at ``quality`` and decode it."""
    mode = "L" if image.ndim == 2 else "RGB"
    buffer = io.BytesIO()
    Image.fromarray(image, mode).save(buffer, format="JPEG", quality=int(quality), subsampling=2, keep_rgb=False,
                                      optimize=False, progressive=False)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert(mode))


def ijg_luma_table(quality: int) -> np.ndarray:
    """libjpeg's luminance table at ``quality`` (jpeg_quality_scaling, baseline limit 255)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality  # integer division, as libjpeg
    return np.clip(np.floor((_IJG_LUMA * scale + 50) / 100), 1, 255)


def estimate_jpeg_quality(tables: dict[int, list[int]] | None) -> float:
    """The IJG quality whose luminance table is closest to a JPEG's own (exact for libjpeg files).

    ``tables`` is Pillow's ``image.quantization``. Files from other encoders (other tables) get
    the IJG quality of the most similar table, which is what matters to the deblocker: how
    coarse the quantisation was.
    """
    if not tables:
        raise InvalidParameterError("not a JPEG image: it has no quantization tables")
    luma = np.asarray(tables[min(tables)], dtype=np.float64)
    errors = [np.abs(np.log(ijg_luma_table(q)) - np.log(luma)).mean() for q in range(1, 101)]
    return float(1 + int(np.argmin(errors)))


def estimate_noise_sigma(image: np.ndarray, patch: int = 7, max_patches: int = 50_000) -> float:
    """Gaussian noise sigma (0-255 scale) of an HxW or HxWxC image, from its patch covariance.

    Colour images use the patch PCA of Chen, Zhu and Heng (ICCV 2015) on patches of all channels:
    their covariance has eigenvalues that are noise variance plus image structure; the image
    occupies few of the 3 x 49 directions, so the largest tail of eigenvalues whose mean equals
    its median is pure noise, and that mean is sigma^2 (CBSD68, sigma 25: 24.97 +- 0.07).
    A gray patch has only 49 directions, too few for that rule: on textured images structure
    fills the tail (BSD68, sigma 25: 26.3 +- 1.3, up to 31.4). Gray images therefore use Liu,
    Tanaka and Okutomi (IEEE TIP 2013), see ``_weak_texture_sigma``: 24.7 +- 0.25 there.
    (``benchmarks/noise_estimate.py`` prints these figures.)
    """
    patches = noise_patches(image, patch, max_patches)
    if patches.shape[1] == patch * patch:
        return _weak_texture_sigma(patches, patch)
    return float(np.sqrt(tail_noise_variance(patches)))


def noise_patches(image: np.ndarray, patch: int = 7, max_patches: int = 50_000) -> np.ndarray:
    """Rows of ``patch`` x ``patch`` x channels pixels (float64), on a grid thinned to about ``max_patches``."""
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 2:
        array = array[:, :, None]
    if min(array.shape[:2]) < patch:
        raise InvalidParameterError(f"image too small to estimate its noise (needs {patch}x{patch} pixels)")
    windows = sliding_window_view(array, (patch, patch), axis=(0, 1))
    step = max(1, int(np.ceil(np.sqrt(windows.shape[0] * windows.shape[1] / max_patches))))
    return windows[::step, ::step].reshape(-1, array.shape[2] * patch * patch)


def tail_noise_variance(patches: np.ndarray) -> float:
    """Chen et al.'s rule: the mean of the largest tail of the patch covariance's smallest eigenvalues
    whose mean is its median."""
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(patches, rowvar=False)))
    for count in range(len(eigenvalues), 0, -1):
        tail = eigenvalues[:count]
        tau = tail.mean()
        if np.sum(tail > tau) == np.sum(tail < tau):
            return max(float(tau), 0.0)
    return 0.0


def _weak_texture_sigma(patches: np.ndarray, patch: int, iterations: int = 3,
                        confidence: float = 1 - 1e-6) -> float:
    """Noise sigma of gray ``patches`` (rows of patch x patch pixels) from their weakly textured ones.

    A patch's texture strength is the energy of its central-difference gradients. On a flat patch
    that energy is the noise's alone, a gamma-distributed quadratic form of sigma^2, so patches
    above its ``confidence`` quantile contain structure. Starting from all patches, each round
    keeps the patches below that threshold for the current sigma and takes the smallest eigenvalue
    of their covariance as the new sigma^2 (which is why it errs low, by about 1 %).
    """
    gradients = _patch_gradient_operator(patch)
    quadratic = gradients.T @ gradients
    rank = np.linalg.matrix_rank(quadratic)
    threshold_per_variance = scipy.stats.gamma.ppf(confidence, rank / 2, scale=2 * np.trace(quadratic) / rank)
    texture = np.square(patches @ gradients.T).sum(axis=1)
    variance = _smallest_eigenvalue(patches)
    for _ in range(iterations - 1):
        weak = patches[texture < variance * threshold_per_variance]
        if len(weak) < 4 * patches.shape[1]:
            break
        variance = _smallest_eigenvalue(weak)
    return float(np.sqrt(variance))


def _smallest_eigenvalue(patches: np.ndarray) -> float:
    return max(float(np.linalg.eigvalsh(np.cov(patches, rowvar=False))[0]), 0.0)


def _patch_gradient_operator(patch: int) -> np.ndarray:
    """Matrix whose rows are the horizontal, then vertical, central differences inside a patch."""
    rows = []
    for axis in (1, 0):
        for index in np.ndindex(patch, patch):
            if 0 < index[axis] < patch - 1:
                row = np.zeros((patch, patch))
                before, after = list(index), list(index)
                before[axis] -= 1
                after[axis] += 1
                row[tuple(before)], row[tuple(after)] = -0.5, 0.5
                rows.append(row.ravel())
    return np.array(rows)
