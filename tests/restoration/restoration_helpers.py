"""Tiny restoration networks with known behaviour, for tests that need no trained weights.

Not a conftest.py: a second module named ``conftest`` would shadow tests/conftest.py for the test
modules that import helpers from it. Test modules import the fixture from here.
"""

from __future__ import annotations

import pytest
import torch

from convpress.restoration.inference import save_weights
from convpress.restoration.network import RestorationUNet, create_network

SHIFT = 255 / 8
"""What the constant-shift network adds to every pixel (0-255 scale); exact in float16."""


def shift_network() -> RestorationUNet:
    """A tiny network whose output is its input plus SHIFT: it shows what the network was fed."""
    model = create_network("restore-tiny")
    with torch.no_grad():
        model.tail.bias.fill_(SHIFT / 255)
    return model


def random_network(seed: int = 0) -> RestorationUNet:
    """A tiny network with random weights everywhere (the tail too), for shape and tiling tests."""
    torch.manual_seed(seed)
    model = create_network("restore-tiny")
    torch.nn.init.normal_(model.tail.weight, std=0.05)
    return model


@pytest.fixture
def shift_weights(tmp_path):
    """Denoise and deblock weight files of the constant-shift network."""
    return {task: save_weights(tmp_path / f"shift-{task}.safetensors", shift_network(), task) for task in ("denoise", "deblock")}
