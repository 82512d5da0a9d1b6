"""Data-parallel overfitting: band dealing, shares that add up to the whole, the all-reduce, failures."""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
import pytest
import torch

from convpress.overfit import arm, encoder, synthesis
from convpress.overfit.bitstream import Architecture
from convpress.overfit.encoder import fit, starting_model
from convpress.overfit.latents import soft_round
from convpress.overfit.parallel import Exchange, PeerLostError, Shard, band_shard, my_bands, workers
from imagegen import natural_like


def test_bands_are_dealt_to_the_least_loaded_process_across_losses():
    first, second = Shard(0, 2), Shard(1, 2)
    assert first.deal([1, 1, 1, 1, 1]) == [True, False, True, False, True]
    assert second.deal([1, 1, 1, 1, 1]) == [False, True, False, True, False]
    # rank 0 is one band ahead, so the next loss starts with rank 1; a big band then outweighs small ones
    assert first.deal([1, 4, 1, 1, 1]) == [False, True, False, False, False]
    assert first.loads == [7, 6]


def test_outside_a_shard_every_band_is_evaluated():
    assert my_bands(["a", "b", "c"], [1, 1, 1]) == ["a", "b", "c"]
    with band_shard(1, 3):
        assert my_bands(["a", "b", "c", "d"], [1, 1, 1, 1]) == ["b"]
    assert my_bands(["a"], [1]) == ["a"]


def _loss_and_gradients(model, target):
    latents = [soft_round(grid, 0.3) for grid in model.latents]
    mse, bits = model(latents, target)
    loss = mse + 1e-3 * bits / (target.shape[2] * target.shape[3])
    return float(loss.detach()), torch.autograd.grad(loss, list(model.parameters()))


def test_the_processes_shares_add_up_to_the_whole_loss_and_gradients(monkeypatch):
    monkeypatch.setattr(arm, "BAND_LATENTS", 64)
    monkeypatch.setattr(synthesis, "BAND_PIXELS", 100)
    image = natural_like(40, 56, 3, seed=5)
    target = torch.tensor(image).permute(2, 0, 1)[None].float() / 255.0
    model = starting_model(Architecture(channels=3), target, seed=0, start="random")
    with torch.no_grad():
        for grid in model.latents:
            grid.normal_(0, 2)
    whole_loss, whole_gradients = _loss_and_gradients(model, target)
    shares = []
    for rank in range(3):
        with band_shard(rank, 3):
            shares.append(_loss_and_gradients(model, target))
    assert all(loss < 0.7 * whole_loss for loss, _ in shares)  # every process does a real share
    assert sum(loss for loss, _ in shares) == pytest.approx(whole_loss, rel=1e-5)
    for index, whole in enumerate(whole_gradients):
        summed = sum(gradients[index] for _, gradients in shares)
        torch.testing.assert_close(summed, whole, rtol=1e-4, atol=1e-7)


def _reduce_twice(exchange: Exchange, results: torch.Tensor) -> None:
    """Each process contributes rank + 1 and 10 * rank, twice (so both buffers are used)."""
    for step in range(2):
        tensors = [torch.full((3,), exchange.rank + 1.0 + step), torch.tensor([10.0 * exchange.rank])]
        exchange.all_reduce(tensors)
        results[exchange.rank, 4 * step : 4 * step + 4] = torch.cat(tensors)


def test_all_reduce_gives_every_process_the_same_sum():
    results = torch.zeros(3, 8).share_memory_()
    with workers(3, 4, _reduce_twice, (results,)) as exchange:
        _reduce_twice(exchange, results)
    expected = torch.tensor([6.0, 6.0, 6.0, 30.0, 9.0, 9.0, 9.0, 30.0])
    for rank in range(3):
        assert torch.equal(results[rank], expected)


def _fail(exchange: Exchange) -> None:
    raise RuntimeError("worker failure for the test")


def test_a_lost_process_stops_the_others_with_a_clear_error():
    with pytest.raises(PeerLostError, match="a process of the parallel encode stopped"):
        with workers(2, 1, _fail, ()) as exchange:
            exchange.all_reduce([torch.zeros(1)])


def _wait_for_rank_0(exchange: Exchange, stopped: torch.Tensor) -> None:
    """Wait at an exchange that rank 0 never reaches; note that the stop request reached this worker."""
    try:
        exchange.all_reduce([torch.zeros(1)])
    except PeerLostError:
        stopped.fill_(1)
        raise


def test_an_interrupted_encode_stops_its_workers_quietly():
    """The worker sees the stop request at its exchange and returns by itself: a worker killed after
    STOP_SECONDS never sets the flag (a wall-clock bound instead failed when a loaded machine took
    seconds to start the worker's interpreter)."""
    stopped = torch.zeros(1).share_memory_()
    with pytest.raises(KeyboardInterrupt):
        with workers(2, 1, _wait_for_rank_0, (stopped,)):
            time.sleep(0.5)
            raise KeyboardInterrupt
    assert stopped.item() == 1
    assert multiprocessing.active_children() == []


def test_one_process_starts_no_worker():
    with workers(1, 10, _fail, ()) as exchange:
        assert exchange is None


def test_an_encode_on_two_processes_codes_like_one():
    image = natural_like(160, 224, 3, seed=2)  # two bands of synthesis.BAND_PIXELS: two processes
    single = fit(image, 1e-3, 30, threads=1, progress=False)
    double = fit(image, 1e-3, 30, threads=2, progress=False)
    assert double.estimated_bits == pytest.approx(single.estimated_bits, rel=0.02)
    assert double.mse(image) == pytest.approx(single.mse(image), rel=0.02)
    assert np.abs(double.reconstruction.astype(int) - single.reconstruction.astype(int)).max() <= 3


def test_a_small_image_is_coded_by_one_process(monkeypatch):
    """One band of work gives a second process nothing to do: no process is started for it."""
    worlds = []
    real_workers = encoder.workers

    def recording_workers(world, *arguments):
        worlds.append(world)
        return real_workers(world, *arguments)

    monkeypatch.setattr(encoder, "workers", recording_workers)
    fit(natural_like(48, 64, 3, seed=2), 1e-3, 2, threads=2, progress=False)
    assert worlds == [1]
