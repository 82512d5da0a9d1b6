"""The Laplace table family: the same integers on every machine, close to the real distribution."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from convpress.coding.rangecoder import estimate_bits
from convpress.overfit.laplace import (
    FRACTIONS,
    LOG_SCALE_MIN_FIXED,
    LOG_SCALE_STEP_FIXED,
    SCALES,
    laplace_tables,
    log_scale,
    table_index_and_base,
    zero_mean_bits,
    zero_mean_table,
)

TABLES_SHA256 = "bcfa3643d3f4091203b741e085b356a5c32c7a0ce56b0aabbc4d4538c395b394"
"""Of the cdfs, lengths and offsets arrays as built on the reference machine: a platform whose
arithmetic differed would decode other machines' files wrongly, and fails here first."""


def test_tables_are_the_reference_integers():
    tables = laplace_tables()
    assert tables.num_tables == SCALES * FRACTIONS
    digest = hashlib.sha256(tables.cdfs.tobytes() + tables.lengths.tobytes() + tables.offsets.tobytes()).hexdigest()
    assert digest == TABLES_SHA256


@pytest.mark.parametrize(("scale_index", "fraction"), [(0, 0), (10, 5), (30, 8), (59, 15)])
def test_tables_follow_the_discretized_laplace(scale_index, fraction):
    tables = laplace_tables()
    table = scale_index * FRACTIONS + fraction
    scale, centre = math.exp(float(log_scale(scale_index))), fraction / FRACTIONS
    values = tables.offsets[table] + np.arange(tables.lengths[table] - 1)

    def cdf(x):
        return np.where(x < centre, 0.5 * np.exp((x - centre) / scale), 1 - 0.5 * np.exp(-(x - centre) / scale))

    expected = cdf(values + 0.5) - cdf(values - 0.5)
    got = tables.probabilities(table)[:-1]
    assert np.abs(got - expected).max() < 2e-3 + 2 * len(values) * 2.0**-16
    assert tables.counts(table)[-1] == 1  # the escape


def test_table_choice_is_integer_rounding_of_mean_and_log_scale():
    means = np.array([0, int(2.5 * 4096), -1024, 3 * 4096 + 127, 3 * 4096 + 129])
    half_step = LOG_SCALE_STEP_FIXED // 2
    log_scales = np.array(
        [LOG_SCALE_MIN_FIXED, LOG_SCALE_MIN_FIXED + half_step, LOG_SCALE_MIN_FIXED + half_step - 1, -(10**9), 10**9]
    )
    index, base = table_index_and_base(means, log_scales)
    # 2.5 -> centre 8/16 above 2; -0.25 -> 12/16 above -1; 3 + 127/4096 rounds to 3, 3 + 129/4096 to 3 + 1/16
    assert index.tolist() == [0, 1 * 16 + 8, 0 * 16 + 12, 0, 59 * 16 + 1]
    assert base.tolist() == [0, 2, -1, 3, 3]


def test_zero_mean_bits_match_the_coder_estimate():
    values = np.random.default_rng(0).laplace(0, 6, size=500).round().astype(np.int64)
    values[0] = 5000  # an escape in every table
    bits = zero_mean_bits(values)
    for index in (5, 40, 59):
        table_index = np.full(values.size, zero_mean_table(index), dtype=np.int32)
        assert bits[index] == pytest.approx(estimate_bits(values, table_index, laplace_tables()), rel=1e-9)
