"""Training crops: windows of the images, flipped and down-scaled as the docstring says, 8-bit valued."""

import numpy as np
import pytest
import torch
from PIL import Image

from convpress.errors import ConvpressError
from convpress.training.data import RandomCrops, _resize
from imagegen import natural_like


def coordinate_image(height: int, width: int) -> np.ndarray:
    """Red is the row, green the column: a crop shows where it came from and how it was flipped."""
    rows, cols = np.mgrid[:height, :width]
    return np.stack([rows, cols, np.zeros_like(rows)], axis=2).astype(np.uint8)


def test_crops_without_downscaling_are_windows_of_the_image_flipped_or_not():
    image = coordinate_image(200, 250)
    crops = (RandomCrops([image], seed=3).batch(64, 64) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    flips = {"vertical": 0, "horizontal": 0}
    for crop in crops:
        if crop[1, 0, 0] < crop[0, 0, 0]:
            crop, flips["vertical"] = crop[::-1], flips["vertical"] + 1
        if crop[0, 1, 1] < crop[0, 0, 1]:
            crop, flips["horizontal"] = crop[:, ::-1], flips["horizontal"] + 1
        top, left = crop[0, 0, 0], crop[0, 0, 1]
        assert np.array_equal(crop, image[top : top + 64, left : left + 64])
    assert all(16 < count < 48 for count in flips.values())  # each flip has probability 1/2


def test_batches_are_8_bit_levels_in_the_unit_range():
    batch = RandomCrops([natural_like(300, 400, 3, 1)], seed=0, downscale=2.0).batch(8, 128)
    assert batch.shape == (8, 3, 128, 128) and batch.dtype == torch.float32
    levels = batch * 255
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    assert 0.0 <= float(batch.min()) and float(batch.max()) <= 1.0


@pytest.mark.parametrize("channels", [1, 3])
def test_down_scaling_agrees_with_pillow_bicubic_within_one_level(channels):
    image = natural_like(330, 330, channels, 4).reshape(330, 330, channels)
    ours = _resize(torch.tensor(image).permute(2, 0, 1), 192).permute(1, 2, 0).numpy()
    pillow = np.asarray(Image.fromarray(image.squeeze(2) if channels == 1 else image).resize((192, 192), Image.BICUBIC))
    assert ours.dtype == np.uint8
    assert np.abs(ours.astype(int) - pillow.reshape(192, 192, channels).astype(int)).max() <= 1


def test_a_crop_larger_than_an_image_is_refused():
    with pytest.raises(ConvpressError, match="smaller than the 128px crop"):
        RandomCrops([natural_like(100, 100, 3, 0)], seed=0).batch(1, 128)
