"""The fixed family of discretized Laplace tables that codes every symbol of an overfitted file.

A symbol is an integer ``y`` with a predicted Laplace distribution of mean ``mu`` and scale ``s``.
Both are fixed-point integers (:mod:`convpress.overfit.fixedpoint`), and the table is chosen by
integer arithmetic alone:

- ``mu`` is rounded to sixteenths: ``q = floor(mu * 16 + 1/2)``; the table is centred on the
  fraction ``(q mod 16) / 16`` and codes ``y - floor(q / 16)``;
- ``log s`` is rounded to the grid ``LOG_SCALE_MIN + k * LOG_SCALE_STEP``, k = 0 .. SCALES - 1
  (scales 0.039 to 39).

Table ``16 * k + f`` is the Laplace distribution with centre ``f / 16`` and scale ``s_k``,
discretized on the unit intervals around the integers ``-m_k .. m_k`` (``m_k = ceil(12.5 s_k) +
1``, beyond which lies less than 2^-18 of the mass) and quantized to 16-bit counts; values beyond
``m_k`` are coded as escapes.

The tables are computed, not stored, so they must come out identical on every machine. The only
transcendental numbers are ``t_k = exp(-1 / (32 s_k))``, computed with :mod:`decimal` (correctly
rounded, independent of the platform's libm) and rounded once to float64. Every interval edge is
a multiple of 1/32 away from the centre, so the Laplace CDF at the edges needs only the powers
``t_k**n``, which a sequential product (``np.multiply.accumulate``) gives; differences, products
and floors of IEEE float64 numbers are exactly rounded, so the integer counts depend on nothing
but these definitions.
"""

from __future__ import annotations

import decimal
import functools

import numpy as np

from convpress.coding.tables import CdfTables
from convpress.overfit.fixedpoint import FRACTION_BITS

PRECISION = 16
FRACTIONS = 16
"""Means are rounded to sixteenths."""
SCALES = 60
LOG_SCALE_MIN_FIXED = -13312
"""log of the smallest scale in fixed point: -3.25 (s = 0.039)."""
LOG_SCALE_STEP_FIXED = 480
"""Step of the log-scale grid in fixed point: 0.1171875 (the largest scale is 39.0)."""
LOG_SCALE_MIN = LOG_SCALE_MIN_FIXED / 2**FRACTION_BITS
LOG_SCALE_MAX = (LOG_SCALE_MIN_FIXED + (SCALES - 1) * LOG_SCALE_STEP_FIXED) / 2**FRACTION_BITS
SUPPORT_PER_SCALE = 12.5
"""Half-width of a table's support in scales: the Laplace tail beyond holds < 2^-18."""
_EDGE_UNITS = 2 * FRACTIONS
"""Interval edges lie at multiples of 1/32 from any table centre."""


def log_scale(index: int) -> decimal.Decimal:
    """The exact log-scale of grid point ``index``."""
    return decimal.Decimal(LOG_SCALE_MIN_FIXED + index * LOG_SCALE_STEP_FIXED) / 2**FRACTION_BITS


def _decay_per_edge_unit(index: int) -> tuple[float, float]:
    """The scale ``s_k`` and ``exp(-1 / (32 s_k))``, both via correctly rounded decimal exp."""
    with decimal.localcontext() as context:
        context.prec = 40
        scale = log_scale(index).exp()
        decay = (-(1 / (scale * _EDGE_UNITS))).exp()
        return float(scale), float(decay)


def _scale_counts(decay: float, half_width: int) -> np.ndarray:
    """[FRACTIONS, 2 m + 2] 16-bit counts of the symbols -m .. m and the escape, one row per centre."""
    lower_edges = np.arange(-half_width, half_width + 2, dtype=np.int64)  # edge j - 1/2 of symbols -m .. m+1
    centres = np.arange(FRACTIONS, dtype=np.int64)[:, None]
    edge_units = _EDGE_UNITS * lower_edges[None, :] - FRACTIONS - 2 * centres  # (edge - centre) * 32
    powers = np.multiply.accumulate(np.concatenate(([1.0], np.full(int(np.abs(edge_units).max()), decay))))
    tail = 0.5 * powers[np.abs(edge_units)]
    cdf = np.where(edge_units >= 0, 1.0 - tail, tail)
    probabilities = np.diff(cdf, axis=1)
    length = probabilities.shape[1] + 1
    counts = np.floor(probabilities * float(2**PRECISION - length)).astype(np.int64) + 1
    rows = np.arange(FRACTIONS)
    counts[rows, np.argmax(counts, axis=1)] += 2**PRECISION - 1 - counts.sum(axis=1)
    return np.concatenate([counts, np.ones((FRACTIONS, 1), dtype=np.int64)], axis=1)


@functools.lru_cache(maxsize=1)
def laplace_tables() -> CdfTables:
    """All ``SCALES * FRACTIONS`` tables, built once per process (about 20 ms)."""
    rows, offsets = [], []
    for index in range(SCALES):
        scale, decay = _decay_per_edge_unit(index)
        half_width = int(np.ceil(SUPPORT_PER_SCALE * scale)) + 1
        rows.extend(_scale_counts(decay, half_width))
        offsets.extend([-half_width] * FRACTIONS)
    lengths = np.array([row.size for row in rows], dtype=np.int64)
    cdfs = np.full((len(rows), int(lengths.max()) + 1), 2**PRECISION, dtype=np.int64)
    for cdf, counts in zip(cdfs, rows):
        cdf[0] = 0
        cdf[1 : counts.size + 1] = np.cumsum(counts)
    return CdfTables(cdfs, lengths, np.array(offsets, dtype=np.int64), PRECISION)


def scale_index(log_scale_fixed: np.ndarray) -> np.ndarray:
    """Nearest grid point of fixed-point log-scales (integer arithmetic), clipped to the grid."""
    steps = (np.asarray(log_scale_fixed, dtype=np.int64) - LOG_SCALE_MIN_FIXED + LOG_SCALE_STEP_FIXED // 2)
    return np.clip(steps // LOG_SCALE_STEP_FIXED, 0, SCALES - 1)


def table_index_and_base(mean_fixed: np.ndarray, log_scale_fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For fixed-point means and log-scales: the table of each symbol and the integer it is relative to.

    A value ``y`` is coded as ``y - base`` with table ``index``.
    """
    sixteenths = (np.asarray(mean_fixed, dtype=np.int64) + 2 ** (FRACTION_BITS - 5)) >> (FRACTION_BITS - 4)
    base = sixteenths >> 4
    index = scale_index(log_scale_fixed) * FRACTIONS + (sixteenths & (FRACTIONS - 1))
    return index.astype(np.int32), base


def zero_mean_table(index: int) -> int:
    """The table of a zero-mean Laplace with grid scale ``index`` (used for network parameters)."""
    return index * FRACTIONS


@functools.lru_cache(maxsize=1)
def _zero_mean_information() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-log2 p of every symbol of the zero-mean tables [SCALES, Lmax], their offsets and lengths."""
    tables = laplace_tables()
    rows = np.array([zero_mean_table(index) for index in range(SCALES)])
    return tables.information_bits()[rows], tables.offsets[rows].astype(np.int64), tables.lengths[rows].astype(np.int64)


def zero_mean_bits(values: np.ndarray) -> np.ndarray:
    """[SCALES] code length in bits of ``values`` with each zero-mean table, escapes included."""
    information, offsets, lengths = _zero_mean_information()
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    symbols = values[None, :] - offsets[:, None]
    escaped = (symbols < 0) | (symbols >= lengths[:, None] - 1)
    symbols = np.where(escaped, lengths[:, None] - 1, symbols)
    bits = np.take_along_axis(information, symbols, axis=1)
    distance = np.maximum(np.abs(values)[None, :] - (lengths[:, None] - 2) // 2, 1)
    escape_bits = np.where(escaped, 6 + np.floor(np.log2(distance)), 0.0)
    return (bits + escape_bits).sum(axis=1)
