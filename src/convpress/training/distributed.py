"""Devices and multi-process data parallelism (``torchrun``), for users who outgrow one machine.

The same ``convpress train`` command runs on one CPU process, on a GPU, or as N processes under
``torchrun --nproc_per_node N -m convpress train ...``: each process trains on its own random
crops, DistributedDataParallel averages the gradients (gloo on CPU, NCCL on GPUs), and rank 0
alone logs and writes checkpoints.
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def default_device() -> torch.device:
    """The first GPU when there is one, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def is_distributed_worker() -> bool:
    """Whether this process is one of several launched by torchrun."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed() -> tuple[int, int]:
    """(rank, world size), joining the process group when launched by torchrun."""
    if is_distributed_worker() and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if not dist.is_initialized():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def wrap_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around ``model`` in a multi-process run, the model itself otherwise."""
    if not dist.is_initialized():
        return model
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def leave_together() -> None:
    """Wait for every rank (rank 0 may still be writing its checkpoint), then leave the process group.

    Only for a run that finished: after an exception on one rank the others may be inside a
    collective, and a barrier there would hang instead of failing.
    """
    if dist.is_initialized():
        dist.barrier()
        shutdown()


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def exit_worker(code: int) -> None:
    """End a torchrun worker without the interpreter's finalization.

    Gloo's and autograd's threads can race the interpreter's teardown and abort a worker with
    SIGABRT after its work is done and saved (pytorch/pytorch#190489); torchrun then reports the
    whole run as failed and kills the other ranks. Everything a run keeps is written before this.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
