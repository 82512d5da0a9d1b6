"""``convpress export``: a checkpoint becomes a model file that codes images, plus a model card."""

import numpy as np
import torch
from PIL import Image

from convpress.cli import main
from convpress.codecs.learned import LearnedCodec
from convpress.models.loading import load_model_file
from convpress.training.codec import codec_step
from convpress.training.data import RandomCrops
from convpress.training.loop import TrainConfig, Trainer
from convpress.zoo import create_model
from imagegen import natural_like


def test_export_writes_a_working_model_and_a_card(tmp_path, capsys):
    images = [natural_like(64, 64, 3, seed) for seed in range(2)]
    config = TrainConfig(name="tiny", steps=2, batch_size=2, crop=64, final_crop=64, log_every=1, bf16=False)
    Trainer(create_model("cp-tiny"), RandomCrops(images), config, tmp_path / "run", codec_step("mse")).run()

    assert main(["export", str(tmp_path / "run" / "checkpoint.pt"), "--name", "cp-tiny", "--out-dir", str(tmp_path)]) == 0
    card = (tmp_path / "cp-tiny.md").read_text()
    assert "steps: 2 of 2" in card and "Kodak results" in card
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["pixels"] == 2 * 2 * 64 * 64  # the run's throughput travels with the checkpoint
    assert f"({state['pixels'] / state['elapsed'] / 1e3:.0f} kpx/s)" in card
    assert f"h of compute on {config.threads} CPU thread(s) (" in card  # a GPU run names the GPU

    exported = load_model_file(tmp_path / "cp-tiny.safetensors").model
    trained = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["model"]
    for key, value in exported.state_dict().items():  # equal up to float16 rounding
        assert torch.allclose(value.float(), trained[key].float(), rtol=2e-3, atol=1e-4), key

    codec = LearnedCodec(model=str(tmp_path / "cp-tiny.safetensors"))
    image = Image.fromarray(natural_like(40, 56, 3, 9), "RGB")
    decoded = codec.decode(codec.encode(image, quality=50))
    assert decoded.size == image.size and np.asarray(decoded).dtype == np.uint8

    assert main(["export", str(tmp_path / "run" / "checkpoint.pt"), "--name", "cp-tiny", "--out-dir", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err


def test_each_export_command_refuses_the_other_kind_of_checkpoint(tmp_path, capsys):
    restoration, codec = tmp_path / "restoration.pt", tmp_path / "codec.pt"
    torch.save({"config": {"extra": {"task": "denoise"}}, "model_config": {}}, restoration)
    torch.save({"config": {"extra": {"metric": "mse"}}, "model_config": {"family": "hyperprior"}}, codec)
    assert main(["export", str(restoration), "--name", "x", "--out-dir", str(tmp_path)]) == 2
    assert "denoise network's checkpoint: export it with `convpress export-restore`" in capsys.readouterr().err
    assert main(["export-restore", str(codec), str(tmp_path / "x.safetensors")]) == 2
    assert "not a restoration network's checkpoint" in capsys.readouterr().err
    assert not list(tmp_path.glob("x.*"))
