"""Shared fixtures: small generated images and models, and the location of the shared data sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from convpress.zoo import create_model
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


def shared_data_dir(name: str) -> Path:
    """A folder of ../shared/data, or a skip where this checkout has none."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"shared data {name} not present")
    return path


@pytest.fixture(scope="session")
def kodak_dir() -> Path:
    return shared_data_dir("kodak")


@pytest.fixture(scope="session")
def bsd68_dir() -> Path:
    return shared_data_dir("denoise/bsd68")


@pytest.fixture
def training_folder(tmp_path) -> Path:
    """A folder of three small colour images and one gray one: a training set for tiny models."""
    folder = tmp_path / "images"
    folder.mkdir()
    for seed in range(3):
        Image.fromarray(natural_like(64, 80, 3, seed)).save(folder / f"{seed}.png")
    Image.fromarray(natural_like(64, 64, 1, 9)).save(folder / "gray.png")
    return folder


@pytest.fixture(scope="session")
def tiny_codec_model():
    """A tiny checkerboard model with non-trivial weights (a few training steps on generated images)."""
    torch.manual_seed(0)
    model = create_model("cp-tiny")
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    batch = torch.from_numpy(np.stack([natural_like(64, 64, 3, s) for s in range(4)])).permute(0, 3, 1, 2).float() / 255
    for _ in range(12):
        out = model(batch, torch.rand(4) * 7)
        bits = sum(torch.log2(lik).sum() for lik in out["likelihoods"].values())
        loss = (out["lmbda"] * 255**2 * (out["x_hat"] - batch).pow(2).mean((1, 2, 3))).mean() - bits / batch.numel() * 3
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()
