"""The training loop shared by codec and restoration training.

What it guarantees:
- checkpoints every few minutes, written atomically (temporary file + rename) to ``runs/NAME/``;
- ``resume`` continues exactly: model, optimizer, step, learning-rate schedule, torch and numpy
  random states, so a run interrupted by the end of a session finishes as if uninterrupted;
- a JSONL log of every logging interval (and TensorBoard scalars when tensorboard is installed),
  and a progress bar with loss, rate, PSNR and ETA.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from convpress.errors import ConvpressError
from convpress.models.growth import grow_state_dict
from convpress.training.data import RandomCrops


@dataclass
class TrainConfig:
    """Everything that defines a run; stored in the checkpoint so ``--resume`` needs no flags."""

    name: str
    steps: int
    batch_size: int = 16
    crop: int = 128
    final_crop: int = 256
    final_fraction: float = 0.1
    lr: float = 5e-4
    lr_milestones: list[float] = field(default_factory=lambda: [0.8, 0.95])
    warmup_steps: int = 200
    clip_norm: float = 1.0
    checkpoint_minutes: float = 5.0
    log_every: int = 50
    seed: int = 0
    threads: int = 2
    bf16: bool = True
    extra: dict = field(default_factory=dict)

    def crop_at(self, step: int) -> int:
        """Curriculum: small crops for most of the run, ``final_crop`` for the last fraction."""
        return self.final_crop if step >= self.steps * (1 - self.final_fraction) else self.crop

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then constant with x0.1 decays at the milestone fractions of the run."""
        warm = min(1.0, (step + 1) / max(1, self.warmup_steps))
        decays = sum(step >= m * self.steps for m in self.lr_milestones)
        return self.lr * warm * 0.1**decays


def resumed_config(checkpoint: Path, threads: int, steps: int | None = None) -> tuple[TrainConfig, dict]:
    """A stored run's settings and model config, with this session's thread count and, if given, a new length.

    The stored settings define the run, so a resume needs no flags; the length may change because
    the lr milestones are fractions of it (a run still at its first lr can be shortened or extended).
    """
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    length = {"steps": steps} if steps is not None else {}
    return TrainConfig(**{**saved["config"], "threads": threads, **length}), saved["model_config"]


def checkpoint_facts(state: dict) -> dict:
    """What an exported weights file records of the run behind it: steps, hours of step time, hardware, settings."""
    hardware = state.get("hardware") or hardware_name(torch.device("cpu"), state["config"]["threads"])  # older versions: CPU only
    return {"steps": state["step"], "train_hours": round(state["elapsed"] / 3600, 3), "hardware": hardware,
            "train_config": state["config"]}


def hardware_name(device: torch.device, threads: int) -> str:
    """What a run's steps ran on, for its model card: the GPU's name, or the CPU thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{threads} CPU thread(s)"


StepFunction = Callable[[torch.nn.Module, torch.Tensor, torch.Generator], dict[str, torch.Tensor]]


class Trainer:
    """Runs ``step_fn`` over batches from ``data`` with checkpointing and logging."""

    def __init__(self, model: torch.nn.Module, data: RandomCrops, config: TrainConfig, run_dir: Path, step_fn: StepFunction,
                 device: torch.device | str = "cpu") -> None:
        self.model = model
        self.device = torch.device(device)
        self.data = data
        self.config = config
        self.run_dir = Path(run_dir)
        self.step_fn = step_fn
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        self.step = 0
        self.elapsed = 0.0
        self.pixels = 0
        """Training pixels seen so far (for the run's mean throughput in a model card)."""
        self.rank = int(os.environ.get("RANK", "0"))
        """This process's rank in a torchrun run (0 alone), which also offsets its random streams."""
        self.is_main = self.rank == 0
        self.generator = torch.Generator().manual_seed(config.seed + self.rank)
        torch.manual_seed(config.seed + self.rank)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def save(self) -> None:
        """Atomically write the full training state."""
        state = {
            "config": asdict(self.config),
            "model": unwrap_model(self.model).state_dict(),
            "model_config": getattr(unwrap_model(self.model), "config", {}),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "elapsed": self.elapsed,
            "pixels": self.pixels,
            "hardware": hardware_name(self.device, self.config.threads),
            "torch_rng": torch.get_rng_state(),
            "generator": self.generator.get_state(),
            "data_rng": json.dumps(self.data.state()),
        }
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.checkpoint_path)

    def load(self) -> None:
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=True)
        unwrap_model(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.elapsed = float(state["elapsed"])
        self.pixels = int(state.get("pixels", 0))  # absent from checkpoints of older versions
        torch.set_rng_state(state["torch_rng"])
        self.generator.set_state(state["generator"])
        self.data.set_state(json.loads(state["data_rng"]))
        if not self.is_main:
            self._restart_random_streams()

    def _restart_random_streams(self) -> None:
        """New streams of crops, rates and noise for a rank other than 0 after a resume.

        Only rank 0 writes checkpoints, so the stored streams are its own: restored on every rank
        they would make all ranks draw the same crops, rates and noise from then on. Each other rank
        continues from a seed of (run seed, rank, step) instead: distinct, though not the stream it
        would have drawn without the interruption (a one-process run resumes exactly).
        """
        entropy = [self.config.seed, self.rank, self.step]
        self.data.reseed(entropy)
        seed = int(np.random.SeedSequence(entropy).generate_state(1)[0])
        self.generator.manual_seed(seed)
        torch.manual_seed(seed)

    def run(self, validate: Callable[[], dict] | None = None, validate_every: int = 0,
            stop_at: int | None = None, time_limit_s: float | None = None) -> None:
        """Train until ``config.steps`` (or ``stop_at``, or ``time_limit_s`` of wall time), then checkpoint."""
        config = self.config
        run_started = time.monotonic()
        last_step = min(config.steps, stop_at) if stop_at is not None else config.steps
        self.model.train()
        log_path = self.run_dir / "log.jsonl"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        last_save = time.monotonic()
        window: dict[str, torch.Tensor | float] = {}
        window_steps, window_pixels, window_start = 0, 0, time.monotonic()
        tensorboard = _tensorboard_writer(self.run_dir) if self.is_main else None
        bar = tqdm(total=config.steps, initial=self.step, desc=config.name, disable=not self.is_main, dynamic_ncols=True)
        try:
            while self.step < last_step:
                for group in self.optimizer.param_groups:
                    group["lr"] = config.lr_at(self.step)
                started = time.monotonic()  # the batch counts: on a GPU, making it is a fair share of the step
                batch = self.data.batch(config.batch_size, config.crop_at(self.step)).to(self.device, non_blocking=True)
                metrics = self.step_fn(self.model, batch, self.generator)
                self.optimizer.zero_grad(set_to_none=True)
                metrics["loss"].backward()
                if config.clip_norm > 0:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.clip_norm)
                self.optimizer.step()
                self.elapsed += time.monotonic() - started
                self.step += 1
                window_steps += 1
                pixels = batch.shape[0] * batch.shape[2] * batch.shape[3]
                window_pixels += pixels
                self.pixels += pixels
                for key, value in metrics.items():  # summed on the device: float() each step would wait for the GPU
                    window[key] = window.get(key, 0.0) + value.detach()
                if self.step % config.log_every == 0 or self.step == config.steps:
                    record = {k: float(v) / window_steps for k, v in window.items()}
                    record.update(step=self.step, lr=config.lr_at(self.step - 1), px_per_s=window_pixels / (time.monotonic() - window_start),
                                  train_hours=self.elapsed / 3600)
                    if validate is not None and validate_every and self.step % validate_every == 0:
                        self.model.eval()
                        record.update({f"val_{k}": v for k, v in validate().items()})
                        self.model.train()
                    if self.is_main:
                        with log_path.open("a") as handle:
                            handle.write(json.dumps(record) + "\n")
                        if tensorboard is not None:
                            for key, value in record.items():
                                tensorboard.add_scalar(key.replace("@", "/"), value, self.step)
                        shown = {key: f"{record[key]:{form}}" for key, form in (("loss", ".3f"), ("bpp", ".3f"), ("psnr", ".2f")) if key in record}
                        bar.set_postfix(**shown, kpx_s=f"{record['px_per_s'] / 1e3:.0f}")
                    window, window_steps, window_pixels, window_start = {}, 0, 0, time.monotonic()
                bar.update(1)
                out_of_time = time_limit_s is not None and time.monotonic() - run_started > time_limit_s
                if self.is_main and (time.monotonic() - last_save > config.checkpoint_minutes * 60 or self.step == last_step or out_of_time):
                    self.save()
                    last_save = time.monotonic()
                if out_of_time:
                    break
        except KeyboardInterrupt:
            if self.is_main:  # Ctrl-C (or SIGTERM from the CLI) keeps the work done so far
                self.save()
            raise
        finally:
            bar.close()


def _tensorboard_writer(run_dir: Path):
    """A TensorBoard writer into the run folder when the tensorboard package is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def load_initial_weights(model: torch.nn.Module, path: Path, grow: bool = False) -> None:
    """Start ``model`` from the weights of a training checkpoint (.pt) or a shipped weights file.

    A weights file (.safetensors, learned-codec or restoration) is how a fine-tuning run starts
    when the original run's checkpoints are gone: only the shipped weights survive every machine.
    Only the network's weights are taken (no optimizer state, step or schedule). With ``grow`` the
    weights may come from a smaller network (narrower, or for fewer rates), which ``model`` reproduces
    (:func:`convpress.models.growth.grow_state_dict`).
    """
    path = Path(path)
    if not path.is_file():
        raise ConvpressError(f"--init-from: no such file {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        tensors = load_file(path)
        prefixed = any(key.startswith("model.") for key in tensors)  # learned-codec model files
        state = {key.removeprefix("model."): value.float() for key, value in tensors.items()
                 if not prefixed or key.startswith("model.")}
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)["model"]
    try:
        if grow:
            state = grow_state_dict(model, state)
        model.load_state_dict(state)
    except ValueError as exc:
        raise ConvpressError(f"--grow: the weights in {path} cannot grow into this architecture ({exc})") from exc
    except RuntimeError as exc:
        first_line = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise ConvpressError(f"--init-from: the weights in {path} do not fit this architecture ({first_line})") from exc


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model itself when it is wrapped in DistributedDataParallel."""
    return model.module if hasattr(model, "module") else model


__all__ = ["TrainConfig", "Trainer", "load_initial_weights", "unwrap_model"]
