"""A deadline that long computations check between their steps, so that their caller can stop them.

The REST service answers 504 when a job outlives its timeout, but a Python thread cannot be
killed: without a deadline an overfitted encode or a latent refinement would keep its worker busy
for minutes after its request was answered. Work that loops (the overfitted codec's training
steps, refinement steps, the trials of a rate-target search, the points of a sweep) calls
:func:`check_deadline` once per step; it costs a context-variable read and a clock read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from convpress.errors import DeadlineExceededError

_deadline: ContextVar[float | None] = ContextVar("convpress_deadline", default=None)


@contextmanager
def deadline(at: float) -> Iterator[None]:
    """Within this block, :func:`check_deadline` raises once ``time.monotonic()`` has passed ``at``."""
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def check_deadline() -> None:
    """Raise :class:`DeadlineExceededError` if the current block's deadline has passed (no deadline: never)."""
    at = _deadline.get()
    if at is not None and time.monotonic() > at:
        raise DeadlineExceededError("the work ran out of time and was stopped; try a smaller image or less effort")
