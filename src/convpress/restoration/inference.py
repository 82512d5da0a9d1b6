"""Running a restoration network on images of any size, and its weight files.

Tiling is exact: tiles start on multiples of the network's stride and reach past their kept core
by more than the network's receptive radius, so every kept pixel is computed from exactly the
inputs the whole-image pass would use. A tiled result equals the untiled one (up to float
summation order), so there are no seams.

Weight files are safetensors (float16 weights, no pickle) whose metadata names the task and the
architecture and carries the training facts of the model card.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch.nn import functional as F
from tqdm import tqdm

from convpress.errors import CodecUnavailableError, CorruptDataError
from convpress.restoration.network import RestorationUNet

FILE_FORMAT = "convpress-restoration-1"
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_TILE = 1024
"""Side of the kept core of a tile; images up to this size run in one pass."""


def default_weights(task: str) -> Path:
    """Where the shipped weights of a task live."""
    return WEIGHTS_DIR / f"restore-{task}.safetensors"


def save_weights(path: Path, model: RestorationUNet, task: str, facts: dict | None = None) -> Path:
    """Write ``model`` as float16 safetensors with its task, architecture and training ``facts``."""
    tensors = {key: value.detach().cpu().half().contiguous() for key, value in model.state_dict().items()}
    metadata = {"format": FILE_FORMAT, "task": task, "config": json.dumps(model.config, sort_keys=True),
                "facts": json.dumps(facts or {}, sort_keys=True)}
    Path(path).write_bytes(save_tensors(tensors, metadata=metadata))
    return Path(path)


def load_model(task: str, path: str | Path | None = None) -> RestorationUNet:
    """The network for ``task`` from ``path`` (default: the shipped weights), ready for inference."""
    path = Path(path) if path is not None else default_weights(task)
    if not path.is_file():
        raise CodecUnavailableError(
            f"no {task} weights at {path}: train them with `convpress train-restore --task {task}` and export them "
            f"with `convpress export-restore`, or pass the weights file")
    return _load_cached(str(path.resolve()), task)


@lru_cache(maxsize=4)
def _load_cached(path: str, task: str) -> RestorationUNet:
    data = Path(path).read_bytes()
    try:
        tensors = load_tensors(data)
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
    except (SafetensorError, ValueError, json.JSONDecodeError) as exc:
        raise CorruptDataError(f"{path} is not a convpress restoration weights file ({exc})") from exc
    metadata = header.get("__metadata__", {})
    if metadata.get("format") != FILE_FORMAT:
        raise CorruptDataError(f"{path}: not a restoration weights file (format {metadata.get('format')!r})")
    if metadata.get("task") != task:
        raise CodecUnavailableError(f"{path} holds {metadata.get('task')!r} weights, not {task!r} ones")
    model = RestorationUNet(**json.loads(metadata["config"]))
    model.load_state_dict({key: value.float() for key, value in tensors.items()})
    model.eval()
    return model.to(memory_format=torch.channels_last)


def restore(model: RestorationUNet, image: np.ndarray, level: float, tile: int = DEFAULT_TILE,
            progress: bool | None = None) -> np.ndarray:
    """Run ``model`` on an HxW (gray) or HxWx3 float image on the 0-255 scale, at conditioning ``level``.

    Returns a float32 array of the same shape, not clipped. ``progress`` None shows a progress
    bar when the image needs more than one tile.
    """
    gray = image.ndim == 2
    planes = np.repeat(image[:, :, None], 3, axis=2) if gray else image
    x = torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32)).permute(2, 0, 1)[None] / 255.0
    height, width = x.shape[2:]
    stride = model.stride
    x = F.pad(x, (0, -width % stride, 0, -height % stride), mode="replicate")  # as JPEG pads its blocks
    tile = max(stride, tile // stride * stride)
    margin = math.ceil(model.receptive_radius / stride) * stride
    cores = [(top, left) for top in range(0, x.shape[2], tile) for left in range(0, x.shape[3], tile)]
    output = torch.empty_like(x)
    levels = torch.tensor([float(level)])
    show = len(cores) > 1 if progress is None else progress
    with torch.inference_mode():
        for top, left in tqdm(cores, desc="restoring", unit="tile", disable=not show):
            bottom, right = min(top + tile, x.shape[2]), min(left + tile, x.shape[3])
            in_top, in_left = max(0, top - margin), max(0, left - margin)
            in_bottom, in_right = min(x.shape[2], bottom + margin), min(x.shape[3], right + margin)
            patch = x[:, :, in_top:in_bottom, in_left:in_right].contiguous(memory_format=torch.channels_last)
            result = model(patch, levels)
            output[:, :, top:bottom, left:right] = result[:, :, top - in_top : bottom - in_top, left - in_left : right - in_left]
    result = output[0, :, :height, :width].permute(1, 2, 0).numpy() * 255.0
    return result.mean(axis=2) if gray else result
