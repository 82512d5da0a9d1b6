"""Shared fixtures: small generated images and the location of the shared data sets."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from imagegen import natural_like

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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


@pytest.fixture
def training_folder(tmp_path) -> Path:
    """A folder of three small colour images and one gray one: a training set for tiny models."""
    folder = tmp_path / "images"
    folder.mkdir()
    for seed in range(3):
        Image.fromarray(natural_like(64, 80, 3, seed)).save(folder / f"{seed}.png")
    Image.fromarray(natural_like(64, 64, 1, 9)).save(folder / "gray.png")
    return folder
