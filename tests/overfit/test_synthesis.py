"""The float synthesis' starting point."""

from __future__ import annotations

import pytest
import torch

from convpress.overfit.synthesis import Synthesis


@pytest.mark.parametrize("seed", range(20))
def test_every_colour_starts_positive_so_the_residual_relu_passes_gradients(seed):
    """Latents start at zero, so each colour starts as a constant; a negative one would stay dead."""
    torch.manual_seed(seed)
    synthesis = Synthesis(levels=7, hidden=16, channels=3)
    with torch.no_grad():
        image = synthesis(torch.zeros(1, 7, 4, 4).contiguous(memory_format=torch.channels_last))
    assert image.min() > 0.1
    assert image.max() < 0.9
