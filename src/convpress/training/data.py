"""Training data: image folders held in memory, random crops, flips and optional down-scaling.

Images are decoded once and kept as uint8 tensors on the training device (the whole shared
training set is ~0.5 GB), so a training step costs no JPEG decoding. Sampling uses a numpy
Generator whose state goes into checkpoints, so a resumed run sees exactly the crops the
uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from convpress.errors import ConvpressError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def list_images(folders: Sequence[str | Path]) -> list[Path]:
    """All image files directly inside (or below) the given folders, sorted for reproducibility."""
    paths: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise ConvpressError(f"dataset folder not found: {folder}")
        found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise ConvpressError(f"no images in {folder}")
        paths.extend(found)
    return paths


def load_images(paths: Sequence[Path], mode: str = "RGB", min_side: int = 64, progress: bool = True) -> list[np.ndarray]:
    """Decode images to writable uint8 arrays ([H, W, C]); images smaller than ``min_side`` are skipped.

    Writable, so that tensors can share their memory (``torch.from_numpy``) instead of copying it.
    """
    arrays = []
    for path in tqdm(paths, desc="loading images", disable=not progress, unit="img"):
        with Image.open(path) as image:
            image = image.convert(mode)
            if min(image.size) >= min_side:
                array = np.array(image)
                arrays.append(array if array.ndim == 3 else array[:, :, None])
    if not arrays:
        raise ConvpressError(f"no training image has both sides >= {min_side} pixels")
    return arrays


def first_image_tensors(folder: Path, count: int) -> list[torch.Tensor]:
    """The first ``count`` images of ``folder`` (sorted) as float tensors [1, C, H, W] in 0-1.

    For validation and benchmarks on a fixed subset (e.g. Kodak's first images).
    """
    arrays = load_images(list_images([folder])[:count], progress=False)
    return [torch.from_numpy(array).permute(2, 0, 1)[None].float() / 255 for array in arrays]


class RandomCrops:
    """Batches of random crops with flips and, optionally, random down-scaling first.

    ``downscale`` > 1 lets a crop cover up to that many times its side of the original before being
    resized (antialiased bicubic) to the crop size: large photos then also teach the model the
    statistics of smaller, sharper images, as the Kodak-size test images are.

    The images are held as uint8 tensors on ``device`` and cropped, resized and flipped there: on a
    GPU, making a batch on the CPU (a resize per crop) would take longer than the training step.
    The random draws come from one numpy Generator whatever the device, so a run's crops are the same
    on CPU and GPU up to the resampling's rounding.
    """

    def __init__(self, images: list[np.ndarray], seed: int = 0, downscale: float = 1.0,
                 device: torch.device | str = "cpu") -> None:
        self.images = [torch.from_numpy(image).permute(2, 0, 1).to(device) for image in images]  # CPU: shared, not copied
        self.rng = np.random.default_rng(seed)
        self.downscale = downscale

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def reseed(self, entropy: int | list[int]) -> None:
        """Start a new stream (numpy's seed sequence: a list of ints seeds as well as one int)."""
        self.rng = np.random.default_rng(entropy)

    def batch(self, size: int, crop: int) -> torch.Tensor:
        """A float batch [size, C, crop, crop] in [0, 1], on the images' device."""
        return torch.stack([self._one(crop) for _ in range(size)]).float().div_(255)

    def _one(self, crop: int) -> torch.Tensor:
        image = self.images[self.rng.integers(len(self.images))]
        height, width = image.shape[1:]
        largest = min(height, width) / crop
        factor = float(self.rng.uniform(1.0, min(self.downscale, largest))) if min(self.downscale, largest) > 1 else 1.0
        if min(height, width) < crop:
            raise ConvpressError(f"training image of {width}x{height} is smaller than the {crop}px crop")
        window = min(int(round(crop * factor)), height, width)
        top = int(self.rng.integers(0, height - window + 1))
        left = int(self.rng.integers(0, width - window + 1))
        patch = image[:, top : top + window, left : left + window]
        if window != crop:
            patch = _resize(patch, crop)
        if self.rng.random() < 0.5:
            patch = patch.flip(2)
        if self.rng.random() < 0.5:
            patch = patch.flip(1)
        return patch


def _resize(patch: torch.Tensor, side: int) -> torch.Tensor:
    """An antialiased bicubic resize of a uint8 [C, H, W] patch to ``side`` x ``side``, still uint8.

    On the CPU torch resizes uint8 directly (7x faster than through float, and within 1 of Pillow);
    on a GPU only float is supported, rounded back to 8 bits as coded images are.
    """
    if patch.device.type == "cpu":
        return F.interpolate(patch[None], size=(side, side), mode="bicubic", antialias=True)[0]
    resized = F.interpolate(patch[None].float(), size=(side, side), mode="bicubic", antialias=True)
    return resized[0].round_().clamp_(0, 255).to(torch.uint8)
