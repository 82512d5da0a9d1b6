"""Training the overfit encoder's starting networks (:mod:`convpress.overfit.prior`).

Random crops of the training images each get their own latents; one set of networks serves them
all, and the encoder's own schedule (:func:`convpress.overfit.encoder.train_jointly`) optimizes
everything, the crops spread over a range of qualities so that the networks suit every rate.
What comes out is an ordinary set of overfit-codec networks that has seen many images.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from convpress.codecs.overfit import quality_to_lambda
from convpress.errors import ConvpressError
from convpress.overfit.bitstream import Architecture
from convpress.overfit.encoder import OverfitModel, torch_threads, train_jointly
from convpress.overfit.prior import prior_bytes
from convpress.training.data import list_images, load_images


def random_crops(images: Sequence[np.ndarray], count: int, size: int, seed: int) -> list[torch.Tensor]:
    """``count`` crops [1, 3, size, size] in 0-1, each from an image drawn at random (different images while they last)."""
    usable = [image for image in images if min(image.shape[:2]) >= size]
    if not usable:
        raise ConvpressError(f"no training image is at least {size}x{size} pixels")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(usable), size=count, replace=count > len(usable))
    crops = []
    for index in chosen:
        image = usable[index]
        top = rng.integers(image.shape[0] - size + 1)
        left = rng.integers(image.shape[1] - size + 1)
        crop = np.ascontiguousarray(image[top : top + size, left : left + size])
        crops.append(torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255.0)
    return crops


def train_prior(
    crops: Sequence[torch.Tensor], qualities: Sequence[float], iterations: int, *, seed: int = 0, progress: bool | None = None,
    architecture: Architecture = Architecture(),
) -> OverfitModel:
    """Train networks shared by ``crops`` (crop ``i`` at quality ``qualities[i % len]``); returns the first crop's model."""
    height, width = crops[0].shape[2:]
    torch.manual_seed(seed)
    models = [OverfitModel(architecture, height, width) for _ in crops]
    for model in models[1:]:
        model.networks = models[0].networks
    lambdas = [quality_to_lambda(qualities[number % len(qualities)]) for number in range(len(crops))]
    train_jointly(models, list(crops), lambdas, iterations, progress)
    return models[0]


def train_prior_from_folders(
    folders: Sequence[Path], *, crops: int, crop: int, qualities: Sequence[float], iterations: int,
    seed: int, threads: int, command: str, arm_hidden: int = Architecture.arm_hidden,
) -> tuple[bytes, dict]:
    """The whole ``convpress train-overfit-prior``: load, crop, train; returns the prior file's bytes and its training record."""
    paths = list_images(folders)
    images = load_images(paths, mode="RGB", min_side=crop)
    samples = random_crops(images, crops, crop, seed)
    started = time.process_time()
    with torch_threads(threads):
        model = train_prior(samples, qualities, iterations, seed=seed, progress=True, architecture=Architecture(arm_hidden=arm_hidden))
    record = {
        "command": command,
        "data": [str(folder) for folder in folders],
        "images": len(images),
        "crops": crops,
        "crop": crop,
        "qualities": list(qualities),
        "iterations": iterations,
        "seed": seed,
        "cpu_seconds": round(time.process_time() - started, 1),
        "threads": threads,
    }
    return prior_bytes(model.networks, model.architecture, record), record
