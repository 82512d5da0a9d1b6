"""Named models (in the spirit of timm's registry): architecture presets and shipped weights.

``create_model(name)`` builds an untrained model from a preset; ``load_model(name_or_path)``
builds it from a safetensors file whose metadata carries the architecture, so a weights file is
self-describing and never runs code (no pickle).
"""

from __future__ import annotations

from pathlib import Path


from convpress.errors import CodecUnavailableError
from convpress.models.autoencoders import FactorizedPriorModel, HyperpriorModel, LearnedImageModel

WEIGHTS_DIR = Path(__file__).parent / "weights"

_FAMILIES: dict[str, type[LearnedImageModel]] = {
    "factorized": FactorizedPriorModel,
    "hyperprior": HyperpriorModel,
}

PRESETS: dict[str, dict] = {
    "cp-factorized": {"family": "factorized", "widths": [64, 128, 128], "latent": 192},
    "cp-hyperprior": {"family": "hyperprior", "widths": [64, 128, 128], "latent": 192, "hyper": 128, "context": False},
    "cp-checkerboard": {"family": "hyperprior", "widths": [64, 128, 128], "latent": 192, "hyper": 128, "context": True},
    # Tiny variant for tests and smoke runs.
    "cp-tiny": {"family": "hyperprior", "widths": [8, 16, 16], "latent": 24, "hyper": 16, "context": True},
}
DEFAULT_MODEL = "cp-checkerboard"


def model_from_config(config: dict) -> LearnedImageModel:
    """Instantiate a model from the architecture dict stored with its weights."""
    config = dict(config)
    family = config.pop("family")
    if family not in _FAMILIES:
        raise CodecUnavailableError(f"unknown model family {family!r}")
    return _FAMILIES[family](**config)


def create_model(name: str, **overrides) -> LearnedImageModel:
    """An untrained model of a named preset (with optional architecture overrides)."""
    if name not in PRESETS:
        raise CodecUnavailableError(f"unknown model {name!r}; presets: {', '.join(PRESETS)}")
    return model_from_config({**PRESETS[name], **overrides})


def weights_path(name: str) -> Path:
    """Where the shipped weights of a named model live."""
    return WEIGHTS_DIR / f"{name}.safetensors"


def shipped_models() -> list[str]:
    """Names of the shipped learned-codec models (the weights folder also holds restoration networks)."""
    from convpress.models.loading import FILE_FORMAT, read_file_metadata

    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.safetensors") if read_file_metadata(p).get("format") == FILE_FORMAT)
