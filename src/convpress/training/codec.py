"""Training of the learned codec: one network for every rate (levels sampled per image)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from convpress.errors import ConvpressError
from convpress.models.autoencoders import LearnedImageModel
from convpress.training.distributed import default_device, init_distributed, leave_together, shutdown, wrap_model
from convpress.training.data import RandomCrops, first_image_tensors, list_images, load_images
from convpress.training.losses import rate_distortion_loss
from convpress.training.loop import TrainConfig, Trainer, load_initial_weights, resumed_config, unwrap_model
from convpress.zoo import create_model, model_from_config


VALIDATION_LAMBDAS = (0.0018, 0.018, 0.18)
"""The default model's lowest, middle (level 3.5) and highest rates."""


def codec_step(metric: str):
    """The step function: a continuous level per sample, uniform over the model's range."""

    def step(model: LearnedImageModel, batch: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
        levels = (torch.rand(batch.shape[0], generator=generator) * (unwrap_model(model).levels - 1)).to(batch.device)
        batch = batch.contiguous(memory_format=torch.channels_last)  # ~3x faster convolutions on CPU
        output = model(batch, levels)
        return rate_distortion_loss(output, batch, metric)

    return step


def kodak_validation(model: LearnedImageModel, folder: Path, metric: str = "mse", count: int = 4,
                     lambdas: tuple[float, ...] = VALIDATION_LAMBDAS):
    """Estimated bpp, PSNR and the run's own loss on the first ``count`` images of a folder, at a few lambdas.

    Points are named by lambda (``bpp@0.0018``), not by level, so runs whose models train other sets
    of rates stay comparable. An MS-SSIM run also reports MS-SSIM, what it optimizes (its PSNR may
    fall while it improves).
    """
    tensors = first_image_tensors(folder, count)

    @torch.no_grad()
    def validate() -> dict:
        results = {}
        device = next(model.parameters()).device
        for lmbda in lambdas:
            level = torch.tensor([model.gain.level_of(lmbda)], device=device)
            metrics = [rate_distortion_loss(model(x.to(device), level), x.to(device), metric) for x in tensors]
            for key in ("bpp", "psnr", "loss", "ms_ssim"):
                if key in metrics[0]:
                    results[f"{key}@{lmbda:g}"] = float(np.mean([float(m[key]) for m in metrics]))
        return results

    return validate


def train_codec(
    config: TrainConfig,
    datasets: list[str],
    model_name: str,
    runs_dir: Path,
    resume: bool,
    metric: str = "mse",
    rate_proxy: str = "noise",
    init_from: Path | None = None,
    grow: bool = False,
    architecture: dict | None = None,
    validation_folder: Path | None = None,
    validate_every: int = 1000,
    downscale: float = 2.0,
    time_limit_minutes: float | None = None,
    resume_steps: int | None = None,
) -> Trainer:
    """Train (or resume) a variable-rate codec; checkpoints go to ``runs_dir/name``.

    ``rate_proxy``: see :attr:`LearnedImageModel.rate_proxy`. ``architecture`` overrides the preset's
    sizes (``widths``, ``latent``, ``hyper``); with ``grow``, ``init_from`` may hold a smaller network
    of the same family (narrower, or for other rates), grown without changing what it computes (:mod:`convpress.models.growth`).
    A resumed run keeps its stored settings (objective and data augmentation included), except the
    thread count and, when ``resume_steps`` is given, its length: a run can be shortened or
    lengthened, its lr milestones being fractions of it.
    """
    for crop in (config.crop, config.final_crop):
        if crop % 64:
            raise ConvpressError(f"crop sizes must be multiples of 64 (the hyper-latent stride), got {crop}")
    run_dir = Path(runs_dir) / config.name
    checkpoint = run_dir / "checkpoint.pt"
    if resume and checkpoint.exists():
        config, model_config = resumed_config(checkpoint, config.threads, resume_steps)
        model = model_from_config(model_config)
        metric = config.extra.get("metric", metric)
        downscale = config.extra.get("downscale", 2.0)  # not stored by runs of earlier versions, which used 2
        rate_proxy = config.extra.get("rate_proxy", "noise")  # likewise
    else:
        model = create_model(model_name, **(architecture or {}))
        if init_from is not None:
            load_initial_weights(model, init_from, grow=grow)
        config.extra.update(metric=metric, downscale=downscale, rate_proxy=rate_proxy)
    torch.set_num_threads(config.threads)
    rank, _ = init_distributed()
    device = default_device()
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed crop sizes: tune each convolution once
    model.transform_autocast = config.bf16
    model.rate_proxy = rate_proxy
    model.to(device, memory_format=torch.channels_last)
    images = load_images(list_images(datasets), min_side=config.final_crop, progress=rank == 0)
    data = RandomCrops(images, seed=config.seed + rank, downscale=downscale, device=device)
    trainer = Trainer(wrap_model(model, device), data, config, run_dir, codec_step(metric), device=device)
    if resume and checkpoint.exists():
        trainer.load()
    validate = kodak_validation(model, validation_folder, metric) if validation_folder and rank == 0 else None
    try:
        trainer.run(validate, validate_every, time_limit_s=None if time_limit_minutes is None else 60 * time_limit_minutes)
    except BaseException:
        shutdown()
        raise
    leave_together()
    return trainer

