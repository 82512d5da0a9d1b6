"""The overfit encoder's starting networks: file round trip, partial use, joint training and its effect."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convpress.cli import main
from convpress.errors import ConvpressError
from convpress.overfit.bitstream import Architecture, float_networks
from convpress.overfit.encoder import OverfitModel, fit, train_jointly
from convpress.overfit.prior import PRIOR_PATH, prior_bytes, prior_for, read_prior, shipped_prior, start_from_prior
from convpress.training.overfit_prior import random_crops, train_prior
from convpress.zoo import weights_path
from imagegen import natural_like

from torch import nn


def _networks(seed: int, architecture: Architecture = Architecture()) -> nn.ModuleDict:
    torch.manual_seed(seed)
    networks = nn.ModuleDict(float_networks(architecture))
    with torch.no_grad():
        for parameter in networks.parameters():
            parameter.normal_()
    return networks


def test_a_prior_file_round_trips(tmp_path):
    networks = _networks(0)
    path = tmp_path / "prior.safetensors"
    path.write_bytes(prior_bytes(networks, Architecture(), {"iterations": 3}))
    prior = read_prior(path)
    assert prior.architecture == Architecture()
    assert set(prior.parameters) == {name for name, _ in networks.named_parameters()}
    for name, parameter in networks.named_parameters():
        assert torch.equal(prior.parameters[name], parameter.detach())


def test_other_files_are_refused_with_a_clear_error(tmp_path):
    with pytest.raises(ConvpressError, match="not an overfit-codec prior"):
        read_prior(weights_path("cp-checkerboard"))
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(prior_bytes(_networks(0), Architecture(), {})[:-100])
    with pytest.raises(ConvpressError, match="damaged overfit-codec prior"):
        read_prior(damaged)


def test_a_gray_fit_takes_what_fits_from_a_colour_prior(tmp_path):
    path = tmp_path / "prior.safetensors"
    path.write_bytes(prior_bytes(_networks(0), Architecture(), {}))
    gray = nn.ModuleDict(float_networks(Architecture(channels=1)))
    taken = start_from_prior(gray, read_prior(path))
    assert any(name.startswith("arm.") for name in taken) and any(name.startswith("upsampling.") for name in taken)
    assert "synthesis.layers.0.weight" in taken  # latents -> hidden: the same shape in gray
    assert "synthesis.layers.1.weight" not in taken  # hidden -> image channels: 3 rows in colour, 1 in gray
    assert len(taken) < len(list(gray.parameters()))


def test_the_shipped_prior_fits_the_default_architecture():
    assert PRIOR_PATH.exists()
    prior = shipped_prior()
    assert prior.architecture == Architecture()
    assert len(start_from_prior(nn.ModuleDict(float_networks(Architecture())), prior)) == len(prior.parameters)


def test_a_fit_starts_from_the_installed_prior_of_its_arm_width(tmp_path, monkeypatch):
    """A prior trained for a wider ARM starts fits of that width; other widths fall back to the shipped prior."""
    wide = Architecture(arm_hidden=24)
    model = train_prior(_crops(0, 1), [60], 1, seed=0, progress=False, architecture=wide)
    assert model.networks["arm"].layers[0].out_features == 24
    path = tmp_path / "overfit-prior-arm24.safetensors"
    path.write_bytes(prior_bytes(model.networks, wide, {}))
    monkeypatch.setattr("convpress.overfit.prior.installed_priors", lambda: {read_prior(path).weights_hash: read_prior(path)})
    assert prior_for(wide).weights_hash == read_prior(path).weights_hash
    assert prior_for(Architecture(arm_hidden=24, channels=1)).weights_hash == read_prior(path).weights_hash
    assert prior_for(Architecture()) is shipped_prior()
    assert prior_for(Architecture(arm_hidden=32)) is shipped_prior()


def _crops(seed: int, count: int, size: int = 32) -> list[torch.Tensor]:
    images = [natural_like(64, 64, 3, seed + number) for number in range(count)]
    return random_crops(images, count, size, seed)


def test_joint_training_trains_one_set_of_networks_for_all_crops():
    crops = _crops(0, 2)
    model = train_prior(crops, [40, 80], 20, seed=0, progress=False)
    assert isinstance(model, OverfitModel)
    torch.manual_seed(0)  # train_prior's first model starts from this very initialisation
    untrained = OverfitModel(Architecture(), 32, 32)
    changed = [not torch.equal(a, b) for a, b in zip(model.networks.parameters(), untrained.networks.parameters())]
    assert all(changed)


def test_joint_training_refuses_models_with_networks_of_their_own():
    models = [OverfitModel(Architecture(), 32, 32) for _ in range(2)]
    with pytest.raises(ValueError, match="share their networks"):
        train_jointly(models, _crops(0, 2), [1e-3, 1e-3], 1, progress=False)


def test_crops_need_images_at_least_that_large():
    with pytest.raises(ConvpressError, match="at least 128x128"):
        random_crops([natural_like(64, 64, 3, 0)], 1, 128, 0)


def _loss(result, image: np.ndarray, lmbda: float) -> float:
    return result.mse(image) + lmbda * result.estimated_bits / (image.shape[0] * image.shape[1])


def test_starting_from_a_prior_trained_on_similar_images_lowers_the_loss(tmp_path, monkeypatch):
    """Networks that have seen images like this one let a short fit reach a lower rate-distortion loss."""
    crops = _crops(10, 3, size=40)
    model = train_prior(crops, [60], 80, seed=0, progress=False)
    path = tmp_path / "prior.safetensors"
    path.write_bytes(prior_bytes(model.networks, Architecture(), {}))
    monkeypatch.setattr("convpress.overfit.encoder.prior_for", lambda architecture: read_prior(path))
    image = natural_like(40, 40, 3, 99)
    lmbda = 2e-3
    losses = {start: _loss(fit(image, lmbda, 40, threads=1, progress=False, start=start), image, lmbda) for start in ("prior", "random")}
    assert losses["prior"] < losses["random"]


def test_fit_refuses_an_unknown_start():
    with pytest.raises(ValueError, match="unknown start"):
        fit(natural_like(16, 16, 3, 0), 1e-3, 1, start="zeros")


def test_the_command_writes_a_prior_and_refuses_to_overwrite(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for number in range(2):
        Image.fromarray(natural_like(64, 64, 3, number)).save(folder / f"{number}.png")
    out = tmp_path / "prior.safetensors"
    arguments = ["train-overfit-prior", "--data", str(folder), "--out", str(out), "--crops", "2", "--crop", "32",
                 "--iterations", "3", "--threads", "1"]
    assert main(arguments) == 0
    record = read_prior(out)
    assert record.architecture == Architecture()
    assert '"crops": 2' in capsys.readouterr().out
    before = out.read_bytes()
    assert main(arguments) != 0
    assert "exists" in capsys.readouterr().err and out.read_bytes() == before


def test_the_codec_option_chooses_the_start_and_refuses_others():
    from PIL import Image

    from convpress.codecs.overfit import OverfitCodec
    from convpress.errors import InvalidParameterError

    image = Image.fromarray(natural_like(24, 24, 3, 5))
    codec = OverfitCodec()
    files = {start: codec.encode(image, 60, iterations=8, threads=1, start=start) for start in ("prior", "random")}
    assert files["prior"] != files["random"]
    assert all(codec.decode(data).size == image.size for data in files.values())
    with pytest.raises(InvalidParameterError, match="start"):
        codec.encode(image, 60, iterations=8, start="zeros")
