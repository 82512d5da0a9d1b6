"""From integer latents and exact networks to pixels, in bounded memory.

The synthesis runs on horizontal stripes of :data:`STRIPE_ROWS` rows with :data:`HALO_ROWS` rows
of context on each side (its two 3x3 layers each reach one row further), so the hidden layer of a
large image never exists all at once; the stitched result equals the whole-image one.
"""

from __future__ import annotations

import numpy as np
import torch

from convpress.overfit.banded import row_bands
from convpress.overfit.bitstream import ExactNetworks
from convpress.overfit.fixedpoint import to_fixed
from convpress.overfit.synthesis import HALO_ROWS, to_pixels

STRIPE_ROWS = 64


def reconstruct(exact: ExactNetworks, latents: list[np.ndarray]) -> np.ndarray:
    """uint8 [H, W, C] image of integer latent grids (finest first)."""
    stack = exact.upsampler([to_fixed(torch.from_numpy(grid)) for grid in latents])
    height = stack.shape[1]
    stripes = [
        exact.synthesis(stack[:, low:high])[:, offset : offset + rows]
        for low, high, offset, rows in row_bands(height, STRIPE_ROWS, HALO_ROWS)
    ]
    return to_pixels(torch.cat(stripes, dim=1))
