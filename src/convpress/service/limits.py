"""What keeps the service alive under load: size limits, a bounded worker pool and timeouts.

Image work is CPU- and memory-hungry, so it never runs on the event loop and never runs unbounded:
requests wait in a queue of at most ``max_queue`` jobs for one of ``workers`` threads, and a job
that does not finish within ``timeout_s`` (queue time included) answers 504. Memory is then bounded
by ``workers`` images being processed plus ``max_queue`` uploads waiting, each at most
``max_upload_bytes``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from convpress.deadline import deadline
from convpress.errors import InvalidParameterError

T = TypeVar("T")

MIB = 1024 * 1024
MULTIPART_SLACK_BYTES = MIB
"""Room in a request body for multipart boundaries and text fields besides the uploaded files."""
FILES_PER_REQUEST = 2
"""Most uploads one request carries (an image and the reference it is measured against)."""


@dataclass(frozen=True)
class ServiceSettings:
    """Limits of one service instance; the defaults suit a desktop machine."""

    max_upload_bytes: int = 32 * MIB
    """Largest uploaded file."""
    max_pixels: int = 24_000_000
    """Largest image (width x height) the service decodes, checked from the header before decoding."""
    workers: int = 2
    """Image jobs that run at once."""
    max_queue: int = 32
    """Jobs that may wait for a worker; more are refused with 503 rather than held in memory."""
    timeout_s: float = 120.0
    """Seconds a job may take, waiting included, before the request answers 504."""

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_pixels", "workers", "max_queue"):
            if getattr(self, name) < 1:
                raise InvalidParameterError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.timeout_s <= 0:
            raise InvalidParameterError(f"timeout must be positive, got {self.timeout_s:g} s")

    @property
    def max_body_bytes(self) -> int:
        """Largest request body: every file a request may carry at its limit, plus form overhead."""
        return FILES_PER_REQUEST * self.max_upload_bytes + MULTIPART_SLACK_BYTES


class ServiceBusyError(Exception):
    """The job queue is full (answered with 503)."""


class JobTimeoutError(Exception):
    """A job took longer than the configured timeout (answered with 504)."""


class WorkerPool:
    """A fixed number of worker threads behind a bounded queue, with a timeout per job.

    Only the event loop thread calls :meth:`run`, so the pending count needs no lock.
    """

    def __init__(self, workers: int, max_queue: int, timeout_s: float) -> None:
        self.workers = workers
        self.max_queue = max_queue
        self.timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="convpress-job")
        self._pending = 0

    @property
    def pending(self) -> int:
        """Jobs accepted and not yet answered (running or waiting)."""
        return self._pending

    async def run(self, function: Callable[..., T], *args, **kwargs) -> T:
        """Run ``function`` on a worker thread and return its result, or raise busy/timeout errors.

        A job still waiting when its request times out is cancelled. One already running cannot be
        interrupted, so it runs under the same deadline (:mod:`convpress.deadline`): the loops of
        long work (sweeps, rate-target searches, refinement, overfitted encodes) stop at their next
        step and free the worker.
        """
        if self._pending >= self.workers + self.max_queue:
            raise ServiceBusyError(
                f"the server is busy ({self._pending} jobs in progress or waiting); try again shortly"
            )
        self._pending += 1
        future = self._executor.submit(_before(time.monotonic() + self.timeout_s, function), *args, **kwargs)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout_s)
        except TimeoutError:
            future.cancel()
            raise JobTimeoutError(
                f"the job did not finish within {self.timeout_s:g} s; try a smaller image or fewer codecs"
            ) from None
        finally:
            self._pending -= 1

    def shutdown(self) -> None:
        """Stop accepting work; waiting jobs are dropped, running ones finish in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _before(at: float, function: Callable[..., T]) -> Callable[..., T]:
    """``function`` run under :func:`convpress.deadline.deadline` ``at``."""

    def bounded(*args, **kwargs) -> T:
        with deadline(at):
            return function(*args, **kwargs)

    return bounded


def too_large_message(size: int, limit: int, what: str = "upload") -> str:
    return f"{what} too large: {size / MIB:.1f} MiB exceeds the limit of {limit / MIB:.1f} MiB"
