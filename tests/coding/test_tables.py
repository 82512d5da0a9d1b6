"""Integer CDF tables: the quantization algorithm, storage as arrays, and validation of bad tables."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convpress.coding.tables import CdfTables, quantize_pmf
from convpress.errors import CorruptDataError


@pytest.mark.parametrize(
    ("pmf", "precision", "expected"),
    [
        # free = 13 counts: floors 6, 3, 3 leave 1, which goes to the largest remainder (symbol 0).
        ([0.5, 0.25, 0.25], 4, [8, 4, 4]),
        # a zero probability still gets its 1 count
        ([1.0, 0.0], 4, [15, 1]),
        # equal remainders: the lower index wins
        ([1 / 3, 1 / 3, 1 / 3], 2, [2, 1, 1]),
        # unnormalized input is normalized exactly
        ([3.0, 1.0], 3, [6, 2]),
        # free = 253: shares 177.1, 50.6, 25.3; the one left over goes to the 0.6 remainder
        ([0.7, 0.2, 0.1], 8, [178, 52, 26]),
    ],
)
def test_quantize_pmf_known_values(pmf, precision, expected):
    assert quantize_pmf(np.array(pmf), precision).tolist() == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=2, max_size=300).filter(lambda p: sum(p) > 0),
    st.integers(9, 24),
)
def test_quantize_pmf_counts_are_positive_and_sum_to_the_total(pmf, precision):
    counts = quantize_pmf(np.array(pmf), precision)
    assert counts.min() >= 1
    assert counts.sum() == 2**precision
    # each count is within one of its exact share of the free counts, plus the guaranteed 1
    shares = np.array(pmf) / sum(pmf) * (2**precision - len(pmf))
    assert np.all(np.abs(counts - 1 - shares) <= 1 + 1e-6 * shares)


def test_quantize_pmf_is_exact_under_power_of_two_scaling():
    rng = np.random.default_rng(0)
    pmf = rng.random(500) ** 8
    assert np.array_equal(quantize_pmf(pmf, 16), quantize_pmf(pmf * 2.0**-40, 16))


@pytest.mark.parametrize(
    ("pmf", "precision", "message"),
    [
        ([0.5, -0.1], 8, "non-negative"),
        ([0.5, np.nan], 8, "finite"),
        ([0.0, 0.0], 8, "sums to zero"),
        ([1.0], 8, "at least one symbol"),
        ([0.1] * 5, 2, "do not fit"),
    ],
)
def test_quantize_pmf_refuses_bad_input(pmf, precision, message):
    with pytest.raises(ValueError, match=message):
        quantize_pmf(np.array(pmf), precision)


def test_from_pmfs_layout():
    tables = CdfTables.from_pmfs(
        [np.array([0.25, 0.5, 0.25]), np.array([1.0])], offsets=[-1, 7], tail_masses=[0.0, 1.0], precision=4
    )
    # table 0: values -1, 0, 1 and escape; free = 12: floors 3, 6, 3, 0 -> counts 4, 7, 4, 1
    assert tables.cdfs.tolist() == [[0, 4, 11, 15, 16], [0, 8, 16, 16, 16]]
    assert tables.lengths.tolist() == [4, 2]
    assert tables.offsets.tolist() == [-1, 7]
    assert tables.max_value.tolist() == [1, 7]
    assert tables.precision == 4
    assert tables.probabilities(0).tolist() == [0.25, 7 / 16, 0.25, 1 / 16]
    assert tables.cdfs.dtype == np.int32


def test_from_pmfs_checks_argument_counts():
    with pytest.raises(ValueError, match="one offset and one tail mass per pmf"):
        CdfTables.from_pmfs([np.array([1.0])], offsets=[0, 1], tail_masses=[0.0])
    with pytest.raises(ValueError, match="precision"):
        CdfTables.from_pmfs([np.array([1.0])], offsets=[0], tail_masses=[0.0], precision=25)


def test_arrays_round_trip_exactly(laplace_tables):
    arrays = laplace_tables.to_arrays(prefix="entropy.")
    assert sorted(arrays) == ["entropy.cdfs", "entropy.lengths", "entropy.offsets", "entropy.precision"]
    assert all(array.dtype == np.int32 for array in arrays.values())
    loaded = CdfTables.from_arrays(arrays, prefix="entropy.")
    for name in ("cdfs", "lengths", "offsets"):
        assert np.array_equal(getattr(loaded, name), getattr(laplace_tables, name))
    assert loaded.precision == laplace_tables.precision == 16


def test_tables_are_read_only(laplace_tables):
    with pytest.raises(ValueError, match="read-only"):
        laplace_tables.cdfs[0, 1] = 5


def _valid_arrays() -> dict[str, np.ndarray]:
    return {
        "cdfs": np.array([[0, 4, 11, 15, 16], [0, 8, 16, 16, 16]], dtype=np.int32),
        "lengths": np.array([4, 2], dtype=np.int32),
        "offsets": np.array([-1, 7], dtype=np.int32),
        "precision": np.array([4], dtype=np.int32),
    }


def _with(name: str, value) -> dict[str, np.ndarray]:
    arrays = _valid_arrays()
    arrays[name] = np.array(value)
    return arrays


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({k: v for k, v in _valid_arrays().items() if k != "offsets"}, "missing array"),
        (_with("precision", [4, 4]), "one integer"),
        (_with("precision", [0]), "precision must be an integer from 1 to 24"),
        (_with("cdfs", [[0, 4, 11, 15, 16], [0, 8, 16, 16, 15]]), "table 1 is not padded"),
        (_with("cdfs", [[1, 4, 11, 15, 16], [0, 8, 16, 16, 16]]), "table 0 does not start at 0"),
        (_with("cdfs", [[0, 4, 11, 15, 17], [0, 8, 16, 16, 16]]), "table 0 does not end at 2\\*\\*4"),
        (_with("cdfs", [[0, 4, 4, 15, 16], [0, 8, 16, 16, 16]]), "table 0 is not strictly increasing"),
        (_with("cdfs", [[0, 11, 4, 15, 16], [0, 8, 16, 16, 16]]), "table 0 is not strictly increasing"),
        (_with("cdfs", [[0.0, 4, 11, 15, 16], [0, 8, 16, 16, 16]]), "must be an integer array"),
        (_with("cdfs", [0, 4, 11, 15, 16]), "must have 2 dimension"),
        (_with("lengths", [5, 2]), "table 0 has length 5"),
        (_with("lengths", [4, 1]), "table 1 has length 1"),
        (_with("lengths", [4, 2, 2]), "disagree"),
        (_with("offsets", [2**31 - 2, 0]), "table 0 has offset 2147483646 outside the int32 range"),
        (_with("offsets", [-(2**31) - 1, 0]), "outside the int32 range"),
        (_with("lengths", np.zeros(0, np.int32)), "need 1 to 65535 tables"),
    ],
)
def test_from_arrays_refuses_bad_tables(arrays, message):
    with pytest.raises(CorruptDataError, match=message):
        CdfTables.from_arrays(arrays)


def test_valid_arrays_load():
    tables = CdfTables.from_arrays(_valid_arrays())
    assert tables.num_tables == 2
    assert tables.counts(0).tolist() == [4, 7, 4, 1]
