"""Data-parallel overfitting: one encode spread over several processes, each on its own core.

The encoder's step is hundreds of small operations on 16-channel tensors, which intra-op threads
do not speed up (two torch threads were slower than one on this project's 2-core machine,
``docs/overfit.md``). Its loss, though, is a sum over row bands (:mod:`convpress.overfit.banded`)
of the image's squared error and the latents' code length, so ``P`` processes can each evaluate,
forward and backward, their share of the bands (:class:`Shard`), then add their gradients up. Every process holds the
whole model, draws the same quantization noise (same seed, same operations) and applies the
same Adam update to the same summed gradient, so the copies stay identical without ever sending
parameters: per step only the gradients (4 bytes per latent) cross, through shared memory.

The exchange is an all-reduce over shared buffers: process ``r`` writes its flattened gradient
into its slot, tells every other process, waits for their word, and adds all slots in rank
order, so every process gets the bit-identical sum. Two buffers alternate between steps, so a
process can write step ``t + 1`` while a slower one still reads step ``t``; one semaphore per
ordered pair of processes says "my slot of this step is written".
"""

from __future__ import annotations

import contextlib
import contextvars
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from tqdm import tqdm

from convpress.deadline import check_deadline

WAIT_SECONDS = 0.25
"""How often a process waiting for the others checks that they are still alive (and not stopped)."""
STOP_SECONDS = 10.0
"""How long a worker asked to stop may take to reach its next exchange before it is killed."""
T = TypeVar("T")


@dataclass
class Shard:
    """Which bands of the banded losses one process of ``world`` evaluates.

    Bands are dealt in the order the losses ask for them, each to the process with the least work
    so far (ties to the lowest rank), work counted in latents or pixels. Every process makes the
    same calls in the same order, so all deal the same way without talking; the per-step imbalance
    stays below one band, where dealing every ``world``-th band of each loss would leave the one
    band of every coarse latent level (and the odd band of each loss) to rank 0.
    """

    rank: int
    world: int
    loads: list[float] = field(init=False)
    """Work dealt so far to each rank."""

    def __post_init__(self) -> None:
        self.loads = [0.0] * self.world

    def deal(self, costs: list[float]) -> list[bool]:
        """For each band of the given costs, whether this process evaluates it."""
        mine = []
        for cost in costs:
            taker = min(range(self.world), key=lambda rank: (self.loads[rank], rank))
            self.loads[taker] += cost
            mine.append(taker == self.rank)
        return mine


_shard: contextvars.ContextVar[Shard | None] = contextvars.ContextVar("band_shard", default=None)


@contextlib.contextmanager
def band_shard(rank: int, world: int) -> Iterator[None]:
    """Within the block, banded losses evaluate only this process's share of their bands (see :class:`Shard`)."""
    token = _shard.set(Shard(rank, world))
    try:
        yield
    finally:
        _shard.reset(token)


def my_bands(bands: Sequence[T], costs: list[float]) -> list[T]:
    """The bands of a banded loss that this process evaluates (all of them outside :func:`band_shard`)."""
    shard = _shard.get()
    if shard is None:
        return list(bands)
    return [band for band, mine in zip(bands, shard.deal(costs)) if mine]


class PeerLostError(RuntimeError):
    """Another process of a parallel encode stopped before the end."""


@dataclass
class Exchange:
    """One process's end of the gradient all-reduce (see the module docstring)."""

    rank: int
    buffers: torch.Tensor
    """[2, world, size] float32 in shared memory."""
    written: list[list[Any]]
    """``written[sender][receiver]``: a semaphore released when the sender's slot of a step is written."""
    alive: Callable[[], bool]
    """Whether every other process still runs."""
    step: int = 0

    @property
    def world(self) -> int:
        return self.buffers.shape[1]

    def all_reduce(self, tensors: list[torch.Tensor]) -> None:
        """Replace each tensor by its sum over the processes (identical in all of them)."""
        buffers = self.buffers[self.step % 2]
        self.step += 1
        torch.cat([t.reshape(-1) for t in tensors], out=buffers[self.rank])
        for receiver in range(self.world):
            if receiver != self.rank:
                self.written[self.rank][receiver].release()
        for sender in range(self.world):
            if sender != self.rank:
                self._wait(self.written[sender][self.rank])
        total = buffers.sum(0)
        offset = 0
        for tensor in tensors:
            tensor.copy_(total[offset : offset + tensor.numel()].view_as(tensor))
            offset += tensor.numel()

    def _wait(self, semaphore: Any) -> None:
        """Wait for a peer's word, still honouring the caller's deadline (a service job's time limit)."""
        while not semaphore.acquire(timeout=WAIT_SECONDS):
            check_deadline()
            if not self.alive():
                raise PeerLostError("a process of the parallel encode stopped; see its error above")


def spawn_context() -> Any:
    """Fresh interpreters: forking a process whose OpenMP pool already runs can deadlock it."""
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def workers(world: int, size: int, target: Callable[..., None], arguments: tuple) -> Iterator[Exchange | None]:
    """Start ``world - 1`` processes running ``target(exchange, *arguments)``; yield rank 0's exchange.

    ``size`` is the number of floats each step exchanges. With ``world`` 1 nothing starts and the
    block gets None. Leaving the block waits for the workers to finish; leaving it with an error
    (Ctrl-C included) asks them to stop at their next exchange, and kills any that has not within
    :data:`STOP_SECONDS`, so no process outlives the encode.
    """
    if world <= 1:
        yield None
        return
    context = spawn_context()
    buffers = torch.zeros(2, world, size).share_memory_()
    written = [[context.Semaphore(0) for _ in range(world)] for _ in range(world)]
    stop = context.Event()
    processes = [
        context.Process(target=_run_worker, args=(target, rank, buffers, written, stop, arguments), daemon=True)
        for rank in range(1, world)
    ]
    for process in processes:
        process.start()
    exchange = Exchange(0, buffers, written, lambda: all(p.is_alive() for p in processes))
    finished = False
    try:
        yield exchange
        finished = True
    finally:
        if not finished:
            stop.set()
        for process in processes:
            process.join(None if finished else STOP_SECONDS)
            if process.is_alive():
                process.terminate()
                process.join()


def _run_worker(
    target: Callable[..., None], rank: int, buffers: torch.Tensor, written: list, stop: Any, arguments: tuple
) -> None:
    """A worker's main. Ctrl-C is the parent's to handle: it asks the workers to stop, and they
    return quietly (a killed one would leave its semaphores registered, and a warning)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tqdm.set_lock(threading.RLock())  # workers draw no bars: no named semaphore for a killed worker to leak
    torch.set_num_threads(1)
    parent = os.getppid()
    exchange = Exchange(rank, buffers, written, lambda: os.getppid() == parent and not stop.is_set())
    try:
        with band_shard(rank, buffers.shape[1]):
            target(exchange, *arguments)
    except PeerLostError:
        if not stop.is_set():
            raise
