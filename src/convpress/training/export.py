"""``convpress export``: a training checkpoint -> a shipped model file plus its model card."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from convpress.errors import ConvpressError
from convpress.models.compression import ModelTables
from convpress.models.loading import load_model_file, save_model_file
from convpress.training.loop import checkpoint_facts
from convpress.zoo import model_from_config


def export_checkpoint(checkpoint: Path, output: Path, name: str) -> dict:
    """Write ``output`` (safetensors: fp16 weights, integer CDF tables) from a checkpoint.

    Returns what a model card needs: the training config, steps, hours and last throughput.
    """
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    task = state["config"].get("extra", {}).get("task")
    if task is not None:
        raise ConvpressError(f"{checkpoint} is a {task} network's checkpoint: export it with `convpress export-restore`")
    model = model_from_config(state["model_config"])
    model.load_state_dict(state["model"])
    model.eval()
    # Build the tables from the weights as they will be loaded (fp16-rounded), so both agree.
    save_model_file(output, name, model, ModelTables.build(model), half=True)
    rounded = load_model_file(output).model
    extra = checkpoint_facts(state)
    save_model_file(output, name, rounded, ModelTables.build(rounded), extra=extra, half=True)
    return {**extra, "model_config": state["model_config"], "px_per_s": _throughput(state, Path(checkpoint).parent)}


def _throughput(state: dict, run_dir: Path) -> float:
    """Mean training pixels per second of step time; checkpoints of older versions: the log's last interval."""
    if state.get("pixels") and state["elapsed"] > 0:
        return state["pixels"] / state["elapsed"]
    log = run_dir / "log.jsonl"
    if not log.is_file():
        return float("nan")
    lines = log.read_text().splitlines()
    return float(json.loads(lines[-1]).get("px_per_s", float("nan"))) if lines else float("nan")
