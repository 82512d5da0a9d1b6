"""Codec training: the level-balanced objective, and a resumed run keeps its own objective and length."""

import math

import pytest
import torch

from convpress.cli import main
from convpress.training import codec as codec_training
from convpress.training.losses import LAMBDA_REFERENCE, level_weights, rate_distortion_loss


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


def test_balanced_loss_scales_each_sample_by_the_inverse_square_root_of_its_lambda():
    output, target = _output([0.0018, 0.18], [1e-3, 1e-4], [1.0, 2.0])
    balanced = rate_distortion_loss(output, target, balance_levels=True)["loss"].item()
    terms = [0.0018 * 255**2 * 1e-3 + 1.0, 0.18 * 255**2 * 1e-4 + 2.0]
    assert balanced == pytest.approx((math.sqrt(10) * terms[0] + math.sqrt(0.1) * terms[1]) / 2, rel=1e-5)


def test_level_weights_are_one_at_the_reference_lambda_and_equalize_typical_losses():
    assert level_weights(torch.tensor([LAMBDA_REFERENCE])).item() == pytest.approx(1.0)
    # The shipped model's per-level losses (~0.65 at the lowest lambda, ~6.7 at the highest)
    # come out within 10% of each other once weighted.
    weighted = level_weights(torch.tensor([0.0018, 0.18])) * torch.tensor([0.65, 6.7])
    assert weighted[0].item() == pytest.approx(weighted[1].item(), rel=0.1)


def test_resume_keeps_the_stored_objective_and_takes_a_new_length(training_folder, tmp_path, monkeypatch):
    objectives = []
    step = codec_training.codec_step

    def recording_step(metric, balance_levels=False):
        objectives.append((metric, balance_levels))
        return step(metric, balance_levels)

    monkeypatch.setattr(codec_training, "codec_step", recording_step)
    common = ["train", "--data", str(training_folder), "--name", "r", "--model", "cp-tiny", "--batch-size", "2",
              "--crop", "64", "--final-crop", "64", "--threads", "1", "--no-bf16", "--runs-dir", str(tmp_path / "runs")]
    assert main([*common, "--steps", "2", "--balance-levels"]) == 0
    # Resuming without the objective's flags trains the same objective, for the new length.
    assert main([*common, "--resume", "--steps", "3"]) == 0
    assert objectives == [("mse", True), ("mse", True)]
    state = torch.load(tmp_path / "runs" / "r" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 3
    assert state["config"]["steps"] == 3
    assert state["config"]["extra"]["balance_levels"] is True
