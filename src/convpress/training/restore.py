"""Training of the restoration networks (denoising, JPEG deblocking) on the shared loop.

Degradations are made on the fly from clean crops, so every step sees new noise and new JPEG
qualities: white Gaussian noise with sigma uniform in 0-75 (float, never clipped), or JPEG at a
quality uniform in 5-95 (4:2:0 for colour, 1-channel for gray). JPEG is made per crop (128 px:
~0.1 ms each), not per image, which keeps it a few percent of a step.

Gray and colour train one model: a sample is gray when its three channels are equal (the gray
training images, and a fraction of the colour crops turned to luma), and a gray sample gets the
same noise, or a 1-channel JPEG, in all three channels, exactly as gray images are fed at inference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from convpress.errors import ConvpressError
from convpress.restoration.degradations import MAX_SIGMA, MAX_TRAIN_QUALITY, MIN_TRAIN_QUALITY, jpeg_level, jpeg_roundtrip
from convpress.restoration.network import RestorationUNet, create_network
from convpress.training.data import RandomCrops, list_images, load_images
from convpress.training.loop import TrainConfig, Trainer, checkpoint_facts, load_initial_weights, resumed_config

TASKS = ("denoise", "deblock")
LUMA_WEIGHTS = torch.tensor([0.299, 0.587, 0.114])
"""ITU-R BT.601 luma weights (those of Pillow's convert("L")), used to turn colour crops gray."""


def grayify(batch: torch.Tensor, fraction: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn a random ``fraction`` of the samples gray (rounded luma in all channels).

    Returns the batch and the per-sample gray mask (which includes samples that were gray already).
    """
    chosen = torch.rand(batch.shape[0], generator=generator) < fraction
    luma = torch.round(torch.einsum("bchw,c->bhw", batch, LUMA_WEIGHTS) * 255) / 255
    batch = torch.where(chosen.view(-1, 1, 1, 1), luma.unsqueeze(1).expand_as(batch), batch)
    is_gray = (batch[:, 0] == batch[:, 1]).flatten(1).all(1) & (batch[:, 1] == batch[:, 2]).flatten(1).all(1)
    return batch, is_gray


def add_noise(batch: torch.Tensor, is_gray: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy batch (unclipped) and per-sample sigma/255; gray samples get one noise in all channels."""
    levels = torch.rand(batch.shape[0], generator=generator) * (MAX_SIGMA / 255)
    noise = torch.randn(batch.shape, generator=generator)
    noise = torch.where(is_gray.view(-1, 1, 1, 1), noise[:, :1].expand_as(noise), noise)
    return batch + noise * levels.view(-1, 1, 1, 1), levels


def add_jpeg(batch: torch.Tensor, is_gray: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """JPEG-compressed batch and per-sample (100 - quality)/100; gray samples as 1-channel JPEG."""
    qualities = torch.randint(MIN_TRAIN_QUALITY, MAX_TRAIN_QUALITY + 1, (batch.shape[0],), generator=generator)
    pixels = torch.round(batch * 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    decoded = []
    for array, quality, gray in zip(pixels, qualities.tolist(), is_gray.tolist()):
        if gray:
            decoded.append(np.repeat(jpeg_roundtrip(np.ascontiguousarray(array[:, :, 0]), quality)[:, :, None], 3, axis=2))
        else:
            decoded.append(jpeg_roundtrip(array, quality))
    compressed = torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2).float() / 255
    levels = torch.tensor([jpeg_level(q) for q in qualities.tolist()])
    return compressed, levels


DEGRADATIONS = {"denoise": add_noise, "deblock": add_jpeg}


def restoration_step(task: str, gray_fraction: float):
    """The step function: degrade clean crops, restore them, L1 loss against the clean crops."""
    degrade = DEGRADATIONS[task]

    def step(model: RestorationUNet, batch: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
        clean, is_gray = grayify(batch, gray_fraction, generator)
        degraded, levels = degrade(clean, is_gray, generator)
        # channels_last: ~3x faster convolutions on CPU
        restored = model(degraded.contiguous(memory_format=torch.channels_last), levels)
        mse = (restored.detach() - clean).pow(2).flatten(1).mean(1)
        return {"loss": F.l1_loss(restored, clean), "mse": mse.mean(),
                "psnr": (10 * torch.log10(1.0 / mse.clamp(min=1e-10))).mean()}

    return step


def train_restore(
    config: TrainConfig,
    datasets: list[str],
    task: str,
    preset: str,
    runs_dir: Path,
    resume: bool,
    downscale: float = 1.5,
    gray_fraction: float = 0.1,
    time_limit_minutes: float | None = None,
    resume_steps: int | None = None,
    init_from: Path | None = None,
) -> Trainer:
    """Train (or resume) a restoration network for ``task``; checkpoints go to ``runs_dir/name``.

    A resumed run keeps its stored settings, except the thread count and, when ``resume_steps`` is
    given, its length: a run can be shortened or lengthened (its lr milestones are fractions of it).
    """
    if task not in TASKS:
        raise ConvpressError(f"unknown restoration task {task!r}; tasks: {', '.join(TASKS)}")
    run_dir = Path(runs_dir) / config.name
    checkpoint = run_dir / "checkpoint.pt"
    if resume and checkpoint.exists():
        config, model_config = resumed_config(checkpoint, config.threads, resume_steps)
        model = RestorationUNet(**model_config)
        task, gray_fraction, downscale = config.extra["task"], config.extra["gray_fraction"], config.extra["downscale"]
    else:
        model = create_network(preset)
        if init_from is not None:
            load_initial_weights(model, init_from)
        config.extra.update(task=task, preset=preset, gray_fraction=gray_fraction, downscale=downscale)
    stride = model.stride
    for crop in (config.crop, config.final_crop):
        if crop % max(stride, 16):
            raise ConvpressError(f"crop sizes must be multiples of {max(stride, 16)} (network stride, JPEG MCU), got {crop}")
    torch.set_num_threads(config.threads)
    model.bf16 = config.bf16
    model.to(memory_format=torch.channels_last)
    images = load_images(list_images(datasets), min_side=config.final_crop)
    data = RandomCrops(images, seed=config.seed, downscale=downscale)
    trainer = Trainer(model, data, config, run_dir, restoration_step(task, gray_fraction))
    if resume and checkpoint.exists():
        trainer.load()
    trainer.run(time_limit_s=None if time_limit_minutes is None else 60 * time_limit_minutes)
    return trainer


def export_restoration(checkpoint: Path, output: Path) -> Path:
    """Write a checkpoint's network as a float16 weights file with its task and training facts."""
    from convpress.restoration.inference import save_weights

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    task = state["config"].get("extra", {}).get("task")
    if task is None:
        raise ConvpressError(f"{checkpoint} is not a restoration network's checkpoint (a codec's? export it with `convpress export`)")
    model = RestorationUNet(**state["model_config"])
    model.load_state_dict(state["model"])
    return save_weights(output, model, task, checkpoint_facts(state))
