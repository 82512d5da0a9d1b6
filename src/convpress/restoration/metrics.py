"""Quality measures of the restoration literature, computed as its MATLAB/KAIR code does.

- :func:`psnr` on the 0-255 scale;
- :func:`ssim`: Wang et al.'s SSIM with an 11x11 Gaussian window (sigma 1.5) over the valid region,
  K1 = 0.01, K2 = 0.03 (pytorch_msssim implements exactly this), averaged over channels;
- :func:`psnr_b`: PSNR-B of Yim and Bovik (2011), PSNR with the blocking-effect factor of the
  restored image added to its MSE (8x8 block boundaries), used for JPEG deblocking;
- :func:`matlab_luma`: MATLAB's ``rgb2ycbcr`` Y channel, the "gray" image of the deblocking tables.
"""

from __future__ import annotations

import numpy as np
import torch
from pytorch_msssim import ssim as _ssim

BLOCK = 8


def matlab_luma(rgb: np.ndarray) -> np.ndarray:
    """uint8 Y = round(16 + (65.481 R + 128.553 G + 24.966 B) / 255), as MATLAB's rgb2ycbcr."""
    rgb = np.asarray(rgb, dtype=np.float64)
    y = 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0
    return np.round(y).astype(np.uint8)


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB of ``test`` against ``reference`` (both on the 0-255 scale)."""
    mse = np.mean((np.asarray(reference, np.float64) - np.asarray(test, np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse)) if mse > 0 else float("inf")


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """SSIM (11x11 Gaussian, sigma 1.5, valid region) of HxW or HxWxC images on the 0-255 scale."""
    def tensor(array: np.ndarray) -> torch.Tensor:
        array = np.asarray(array, np.float64)
        array = array[:, :, None] if array.ndim == 2 else array
        return torch.from_numpy(array).permute(2, 0, 1)[None]

    return float(_ssim(tensor(reference), tensor(test), data_range=255.0, win_size=11, win_sigma=1.5))


def blocking_effect_factor(image: np.ndarray) -> float:
    """Yim and Bovik's BEF: how much more the 8x8 block boundaries differ than other neighbours."""
    image = np.asarray(image, np.float64)
    image = image[:, :, None] if image.ndim == 2 else image
    height, width = image.shape[:2]
    column_steps = (image[:, 1:] - image[:, :-1]) ** 2  # between column j and j+1
    row_steps = (image[1:] - image[:-1]) ** 2
    on_column_boundary = (np.arange(width - 1) % BLOCK) == BLOCK - 1
    on_row_boundary = (np.arange(height - 1) % BLOCK) == BLOCK - 1
    boundary_count = height * (width // BLOCK - 1) + width * (height // BLOCK - 1)
    other_count = height * (width - 1) + width * (height - 1) - boundary_count
    per_channel = []
    for channel in range(image.shape[2]):
        boundary = column_steps[:, on_column_boundary, channel].sum() + row_steps[on_row_boundary, :, channel].sum()
        other = column_steps[:, ~on_column_boundary, channel].sum() + row_steps[~on_row_boundary, :, channel].sum()
        difference = boundary / boundary_count - other / other_count
        per_channel.append(max(difference, 0.0) * np.log2(BLOCK) / np.log2(min(height, width)))
    return float(np.mean(per_channel))


def psnr_b(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR-B in dB: PSNR with the BEF of ``test`` added to the MSE."""
    mse = np.mean((np.asarray(reference, np.float64) - np.asarray(test, np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / (mse + blocking_effect_factor(test))))
