"""The deadline that long loops check (convpress.deadline)."""

import time

import numpy as np
import pytest

from convpress.deadline import check_deadline, deadline
from convpress.errors import DeadlineExceededError
from convpress.overfit.encoder import fit


def test_no_deadline_never_stops_work():
    check_deadline()


def test_a_passed_deadline_stops_work_only_inside_its_block():
    with deadline(time.monotonic() - 1):
        with pytest.raises(DeadlineExceededError, match="ran out of time"):
            check_deadline()
        with deadline(time.monotonic() + 60):
            check_deadline()  # an inner, later deadline wins inside its own block
    check_deadline()


def test_an_overfitted_encode_stops_at_its_deadline():
    image = np.zeros((16, 16, 3), np.uint8)
    started = time.monotonic()
    with deadline(time.monotonic() + 0.5), pytest.raises(DeadlineExceededError):
        fit(image, 1e-3, iterations=10**7, threads=1, progress=False)
    assert time.monotonic() - started < 5
