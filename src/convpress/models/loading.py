"""Model files: safetensors weights + integer coding tables + architecture metadata (no pickle).

A model file is self-describing: its metadata holds the architecture config and the model name,
its tensors the float weights (float16 where that costs nothing) and the integer CDF tables and
thresholds of the entropy coder. Loading never executes code from the file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load as load_numpy
from safetensors.numpy import save as save_numpy

from convpress.coding.container import WEIGHTS_HASH_BYTES
from convpress.errors import CodecUnavailableError, CorruptDataError
from convpress.models.autoencoders import LearnedImageModel
from convpress.models.compression import LatentCodec, ModelTables

FILE_FORMAT = "convpress-model-1"
HEADER_READ_LIMIT = 1 << 20
"""Bytes of JSON header read to list models: a model file's header (tensor index + metadata) is ~8 kB."""


@dataclass
class LoadedModel:
    name: str
    model: LearnedImageModel
    codec: LatentCodec
    weights_hash: bytes
    metadata: dict

    @property
    def metric(self) -> str:
        """The distortion the weights were trained for, ``"mse"`` or ``"ms-ssim"``, from their training record."""
        record = json.loads(self.metadata.get("train_config") or "{}")
        return record.get("extra", {}).get("metric", "mse")


def save_model_file(path: Path, name: str, model: LearnedImageModel, tables: ModelTables, extra: dict | None = None, half: bool = True) -> bytes:
    """Write ``model`` and ``tables`` to ``path``; returns the file's bytes."""
    arrays = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu().contiguous()  # numpy() of a channels-last tensor is not C-ordered
        if half and value.is_floating_point() and _fits_half(value):
            value = value.half()
        arrays[f"model.{key}"] = value.numpy()
    arrays.update(tables.to_arrays())
    metadata = {"format": FILE_FORMAT, "name": name, "config": json.dumps(model.config, sort_keys=True)}
    metadata.update({k: json.dumps(v) for k, v in (extra or {}).items()})
    data = save_numpy(arrays, metadata=metadata)
    Path(path).write_bytes(data)
    return data


def _fits_half(value: torch.Tensor) -> bool:
    """float16 only where it changes no value by more than float16's own rounding (finite, in range)."""
    return bool(value.abs().max() < 6e4) if value.numel() else True


def load_model_file(path: str | Path) -> LoadedModel:
    """A ready-to-code model from a safetensors model file."""
    from convpress.zoo import model_from_config

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CodecUnavailableError(f"cannot read model file {path}: {exc.strerror}") from exc
    try:
        arrays = load_numpy(data)
        metadata = _read_metadata(data)
    except (SafetensorError, ValueError, json.JSONDecodeError) as exc:
        raise CorruptDataError(f"{path} is not a convpress model file ({exc})") from exc
    if metadata.get("format") != FILE_FORMAT:
        raise CorruptDataError(f"{path}: unsupported model file format {metadata.get('format')!r}")
    model = model_from_config(json.loads(metadata["config"]))
    state = {k[len("model."):]: torch.from_numpy(np.asarray(v).astype(np.float32) if v.dtype == np.float16 else np.asarray(v))
             for k, v in arrays.items() if k.startswith("model.")}
    model.load_state_dict(state)
    model.eval()
    tables = ModelTables.from_arrays({k: v for k, v in arrays.items() if k.startswith("tables.")})
    digest = hashlib.sha256(data).digest()[:WEIGHTS_HASH_BYTES]
    return LoadedModel(metadata["name"], model, LatentCodec(model, tables), digest, metadata)


def _read_metadata(data: bytes) -> dict:
    """The metadata of a safetensors file's bytes (an 8-byte length, then the JSON header)."""
    header_length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_length])
    return header.get("__metadata__", {})


def read_file_metadata(path: Path) -> dict:
    """The metadata of a safetensors file, reading only its header; {} when it is not one."""
    try:
        with open(path, "rb") as file:
            return _read_metadata(file.read(8 + HEADER_READ_LIMIT))
    except (OSError, ValueError, json.JSONDecodeError):
        return {}

