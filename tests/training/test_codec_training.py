"""Codec training: the rate-distortion objective, and a resumed run keeps its own objective, rate proxy and length."""

import copy

import pytest
import torch
from PIL import Image

from convpress.cli import main
from convpress.training import codec as codec_training
from convpress.training.losses import rate_distortion_loss
from imagegen import natural_like


def _output(lmbdas, mse, bpp):
    """A model output for 16x16 crops with the given per-sample lambda, MSE and bits per pixel."""
    target = torch.full((len(lmbdas), 3, 16, 16), 0.5)
    x_hat = target + torch.tensor(mse).sqrt().view(-1, 1, 1, 1)
    # One latent per pixel, each coding ``bpp`` bits.
    likelihoods = torch.tensor([2.0 ** -b for b in bpp]).view(-1, 1, 1, 1).expand(-1, 1, 16, 16)
    return {"x_hat": x_hat, "likelihoods": {"y": likelihoods}, "lmbda": torch.tensor(lmbdas)}, target


def test_plain_loss_is_lambda_distortion_plus_rate():
    output, target = _output([0.0018, 0.18], [1e-3, 1e-4], [1.0, 2.0])
    parts = rate_distortion_loss(output, target)
    expected = [0.0018 * 255**2 * 1e-3 + 1.0, 0.18 * 255**2 * 1e-4 + 2.0]
    assert parts["loss"].item() == pytest.approx(sum(expected) / 2, rel=1e-5)
    assert parts["bpp"].item() == pytest.approx(1.5, rel=1e-6)


def test_resume_keeps_the_stored_objective_and_takes_a_new_length(tmp_path, monkeypatch):
    folder = tmp_path / "images"  # MS-SSIM's five scales need crops above 160 px
    folder.mkdir()
    for seed in range(2):
        Image.fromarray(natural_like(200, 208, 3, seed)).save(folder / f"{seed}.png")
    objectives = []
    step = codec_training.codec_step

    def recording_step(metric):
        objectives.append(metric)
        return step(metric)

    monkeypatch.setattr(codec_training, "codec_step", recording_step)
    common = ["train", "--data", str(folder), "--name", "r", "--model", "cp-tiny", "--batch-size", "2",
              "--crop", "192", "--final-crop", "192", "--threads", "1", "--no-bf16", "--runs-dir", str(tmp_path / "runs")]
    assert main([*common, "--steps", "2", "--metric", "ms-ssim", "--rate-proxy", "rounded"]) == 0
    # Resuming without the objective's flag trains the same objective (it once fell back to MSE).
    assert main([*common, "--resume", "--steps", "3"]) == 0
    assert objectives == ["ms-ssim", "ms-ssim"]
    state = torch.load(tmp_path / "runs" / "r" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 3
    assert state["config"]["steps"] == 3
    assert state["config"]["extra"]["metric"] == "ms-ssim"
    assert state["config"]["extra"]["rate_proxy"] == "rounded"


@pytest.mark.parametrize("metric", ["mse", "ms-ssim"])
def test_validation_reports_the_runs_own_objective(tmp_path, tiny_codec_model, metric):
    for seed in range(2):
        Image.fromarray(natural_like(192, 192, 3, seed)).save(tmp_path / f"{seed}.png")
    results = codec_training.kodak_validation(tiny_codec_model, tmp_path, metric, lambdas=(0.0018, 0.18))()
    assert results["bpp@0.0018"] < results["bpp@0.18"]
    assert {"loss@0.0018", "psnr@0.18"} <= set(results)
    # An MS-SSIM run is judged by MS-SSIM, which PSNR alone does not show.
    assert ("ms_ssim@0.0018" in results) == (metric == "ms-ssim")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_validation_runs_on_the_models_gpu(tmp_path, tiny_codec_model):
    """On a GPU the lambdas and metrics live on the device (two CPU-only conversions once failed there)."""
    Image.fromarray(natural_like(192, 192, 3, 0)).save(tmp_path / "0.png")
    on_cpu = codec_training.kodak_validation(tiny_codec_model, tmp_path, lambdas=(0.0018,))()
    on_gpu = codec_training.kodak_validation(copy.deepcopy(tiny_codec_model).cuda(), tmp_path, lambdas=(0.0018,))()
    assert on_gpu["loss@0.0018"] == pytest.approx(on_cpu["loss@0.0018"], rel=1e-3)


def test_a_wider_run_starts_from_narrower_weights_and_keeps_its_architecture(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(natural_like(64, 64, 3, 0)).save(folder / "0.png")
    torch.save({"model": codec_training.create_model("cp-tiny").state_dict()}, tmp_path / "narrow.pt")
    common = ["train", "--data", str(folder), "--name", "w", "--model", "cp-tiny", "--batch-size", "1", "--crop", "64",
              "--final-crop", "64", "--threads", "1", "--no-bf16", "--runs-dir", str(tmp_path / "runs"), "--steps", "1"]
    assert main([*common, "--widths", "8", "16", "24", "--latent", "32", "--grow", "--init-from", str(tmp_path / "narrow.pt")]) == 0
    assert main([*common, "--resume", "--steps", "2"]) == 0
    state = torch.load(tmp_path / "runs" / "w" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2
    assert state["model"]["g_a.6.weight"].shape == (32, 24, 5, 5)


def test_grow_needs_initial_weights_and_lambdas_must_increase(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path), "--name", "w", "--grow", "--latent", "320"]) == 2
    assert "--grow needs --init-from" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path), "--name", "w", "--lambdas", "0.01", "0.001"]) == 2
    assert "--lambdas must increase" in capsys.readouterr().err


def test_first_image_tensors_are_the_sorted_first_images_as_writable_floats(tmp_path):
    from convpress.training.data import first_image_tensors

    for name, seed in (("b.png", 1), ("a.png", 0), ("c.png", 2)):
        Image.fromarray(natural_like(64, 80, 3, seed)).save(tmp_path / name)
    tensors = first_image_tensors(tmp_path, 2)
    assert [t.shape for t in tensors] == [(1, 3, 64, 80)] * 2
    assert torch.equal(tensors[0], torch.tensor(natural_like(64, 80, 3, 0)).permute(2, 0, 1)[None].float() / 255)
    tensors[0].mul_(0)  # a copy, not a view of a read-only decoded array
