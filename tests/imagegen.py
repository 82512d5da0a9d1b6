"""Generated test images (no data files needed)."""

from __future__ import annotations

import numpy as np


def natural_like(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A smooth image with edges and mild noise, closer to a photo than white noise is."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):
        phase = rng.uniform(0, 2 * np.pi)
        plane = 128 + 60 * np.sin(xx / (7 + 3 * c) + phase) * np.cos(yy / (11 + 2 * c))
        plane += 40 * ((xx + 2 * yy) % 64 < 32)
        plane += rng.normal(0, 4, size=(height, width))
        planes.append(plane)
    array = np.clip(np.stack(planes, axis=-1), 0, 255).astype(np.uint8)
    return array[:, :, 0] if channels == 1 else array
