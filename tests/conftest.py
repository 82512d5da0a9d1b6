"""Shared fixtures: small generated images and the location of the shared data sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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


@pytest.fixture
def rgb_image() -> Image.Image:
    return Image.fromarray(natural_like(64, 96, 3), "RGB")


@pytest.fixture
def gray_image() -> Image.Image:
    return Image.fromarray(natural_like(64, 96, 1), "L")


@pytest.fixture
def rgba_image() -> Image.Image:
    array = natural_like(48, 40, 4, seed=3)
    return Image.fromarray(array, "RGBA")


@pytest.fixture(scope="session")
def kodak_dir() -> Path:
    path = SHARED_DATA / "kodak"
    if not path.is_dir():
        pytest.skip("shared Kodak data not present")
    return path
