"""The model registry: presets and the shipped learned-codec weights."""

import pytest

from convpress.errors import CodecUnavailableError
from convpress.zoo import DEFAULT_MODEL, PRESETS, WEIGHTS_DIR, create_model, shipped_models


def test_shipped_models_are_learned_codec_models_only():
    names = shipped_models()
    assert DEFAULT_MODEL in names
    assert not [name for name in names if name.startswith("restore-")]  # restoration networks share the folder
    assert (WEIGHTS_DIR / "restore-denoise.safetensors").is_file()


def test_presets_build_and_unknown_names_are_refused():
    model = create_model("cp-tiny")
    assert model.config["latent"] == PRESETS["cp-tiny"]["latent"]
    with pytest.raises(CodecUnavailableError, match="unknown model 'nope'"):
        create_model("nope")


def test_a_models_training_metric_comes_from_its_weights_file():
    from convpress.models.loading import load_model_file

    assert load_model_file(WEIGHTS_DIR / "cp-checkerboard.safetensors").metric == "mse"
    assert load_model_file(WEIGHTS_DIR / "cp-checkerboard-msssim.safetensors").metric == "ms-ssim"
