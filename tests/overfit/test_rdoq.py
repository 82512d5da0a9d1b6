"""Rate-distortion optimized rounding of the latents: exact per-latent loss changes, a lower loss."""

from __future__ import annotations

import pytest
import torch

from convpress.codecs.overfit import quality_to_lambda
from convpress.overfit.bitstream import Architecture
from convpress.overfit.encoder import starting_model, train
from convpress.overfit.rdoq import LEVEL0_REACH, _Evaluator, refine_latents
from imagegen import natural_like


@pytest.fixture(scope="module")
def trained():
    """(model, rounded latents, target, lambda) after a short fit of a 48x64 image."""
    target = torch.tensor(natural_like(48, 64, 3, seed=3)).permute(2, 0, 1)[None].float() / 255.0
    lmbda = quality_to_lambda(50)
    model = starting_model(Architecture(), target, seed=0, start="prior")
    train(model, target, lmbda, 80, progress=False)
    latents = [torch.round(grid.detach()) for grid in model.latents]
    return model, latents, target, lmbda


def _loss(model, latents, target, lmbda) -> float:
    with torch.no_grad():
        mse, bits = model(latents, target)
    return float(mse + lmbda * bits / (target.shape[2] * target.shape[3]))


def test_a_finest_latents_change_stays_within_its_window(trained):
    """The whole loss change of moving one finest-level latent lies within LEVEL0_REACH of it, so
    a sublattice of latents spaced further apart gives each its own change exactly."""
    model, latents, target, lmbda = trained
    evaluator = _Evaluator(model.networks, target, lmbda)
    row, column = 20, 30
    moved = latents[0].clone()
    moved[row, column] += 1
    before = evaluator.loss_map(evaluator.stack(latents), latents, 0)
    after = evaluator.loss_map(evaluator.stack([moved] + latents[1:]), [moved] + latents[1:], 0)
    change = (after[0] - before[0]) + (after[1] - before[1])
    rows, columns = LEVEL0_REACH
    window = change[row - rows : row + rows + 1, column - columns : column + columns + 1]
    assert float(change.abs().sum()) > 0
    assert float(window.sum()) == pytest.approx(float(change.sum()), rel=1e-5, abs=1e-12)
    assert float(change.sum()) == pytest.approx(_loss(model, [moved] + latents[1:], target, lmbda) - _loss(model, latents, target, lmbda), rel=1e-3)


def test_refinement_lowers_the_loss_and_changes_only_integers(trained):
    model, latents, target, lmbda = trained
    refined = refine_latents(model.networks, latents, target, lmbda, sweeps=1, progress=False)
    assert all(torch.equal(grid, torch.round(grid)) for grid in refined)
    assert any(not torch.equal(new, old) for new, old in zip(refined, latents))
    assert _loss(model, refined, target, lmbda) < 0.995 * _loss(model, latents, target, lmbda)
    again = refine_latents(model.networks, refined, target, lmbda, sweeps=1, progress=False)
    assert _loss(model, again, target, lmbda) <= _loss(model, refined, target, lmbda)


@pytest.mark.parametrize("level", [0, 1, 3])
def test_a_moved_stack_is_the_stack_of_the_moved_latents(trained, level):
    model, latents, target, lmbda = trained
    evaluator = _Evaluator(model.networks, target, lmbda)
    change = torch.zeros_like(latents[level])
    change[1, 2], change[-1, -1] = 1.0, -2.0
    moved = latents[:level] + [latents[level] + change] + latents[level + 1 :]
    expected = evaluator.stack(moved)
    assert torch.allclose(evaluator.moved_stack(evaluator.stack(latents), level, change), expected, atol=1e-5)


def test_no_sweeps_keep_the_latents(trained):
    model, latents, target, lmbda = trained
    kept = refine_latents(model.networks, latents, target, lmbda, sweeps=0, progress=False)
    assert all(torch.equal(new, old) for new, old in zip(kept, latents))
