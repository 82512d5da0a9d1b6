"""Families of discrete distributions as integer CDF tables, the only form the entropy coder sees.

A learned entropy model gives, for every latent symbol, a probability distribution in floating
point. Floats are not reproducible across machines, so before coding they are turned, once, into
integer tables: encoder and decoder then work from the same integers and the coded bytes depend on
nothing else. The tables are stored as plain int32 arrays (e.g. in a safetensors model file) and
validated when loaded, because a bad table would make the decoder produce garbage.

Table ``t`` describes ``lengths[t]`` symbols: the values ``offsets[t] .. offsets[t] + lengths[t] - 2``
followed by one ESCAPE symbol, which stands for every value outside that range (the value itself is
then coded separately, see :mod:`convpress.coding.rangecoder`). ``cdfs[t, i]`` is the total count
of the symbols before symbol ``i``, so ``cdfs[t, 0] = 0`` and ``cdfs[t, lengths[t]] = 2**precision``;
the row is padded with ``2**precision`` after that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from convpress.errors import CorruptDataError

DEFAULT_PRECISION = 16
MAX_PRECISION = 24
"""The range coder works with 24-bit probabilities; see :func:`CdfTables.probabilities`."""
MAX_TABLES = 65535
"""Table indices travel as uint16 so that grouping symbols by table is a fast radix sort."""
MAX_TABLE_LENGTH = 65536
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

_ARRAY_NAMES = ("cdfs", "lengths", "offsets", "precision")


@dataclass(frozen=True, eq=False)
class CdfTables:
    """T integer CDFs with ``precision`` bits; construct with :meth:`from_pmfs` or :meth:`from_arrays`.

    The constructor validates the arrays and raises :class:`CorruptDataError` on a bad table, then
    makes them read-only: the range coder caches per-table models built from them.
    """

    cdfs: np.ndarray
    """int32 [T, Lmax + 1]: cumulative counts, padded with ``2**precision``."""
    lengths: np.ndarray
    """int32 [T]: number of symbols of each table, the final ESCAPE symbol included."""
    offsets: np.ndarray
    """int32 [T]: the value coded by symbol 0 of each table."""
    precision: int = DEFAULT_PRECISION

    def __post_init__(self) -> None:
        cdfs, lengths, offsets = _validated_arrays(self.cdfs, self.lengths, self.offsets, self.precision)
        for name, array in (("cdfs", cdfs), ("lengths", lengths), ("offsets", offsets)):
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        object.__setattr__(self, "precision", int(self.precision))

    @property
    def num_tables(self) -> int:
        return int(self.lengths.shape[0])

    @property
    def max_value(self) -> np.ndarray:
        """int64 [T]: the largest value each table codes without escape."""
        return self.offsets.astype(np.int64) + self.lengths - 2

    def counts(self, table: int) -> np.ndarray:
        """int64 counts of the symbols of one table (they sum to ``2**precision``)."""
        return np.diff(self.cdfs[table, : self.lengths[table] + 1].astype(np.int64))

    def probabilities(self, table: int) -> np.ndarray:
        """The exact probabilities ``count / 2**precision`` of one table, as float64.

        These are dyadic rationals with at most 24 significant bits, so float64 represents each
        of them, and every partial sum, exactly: a coder fed these floats sees the integers.
        """
        return self.counts(table) / float(2**self.precision)

    def information_bits(self) -> np.ndarray:
        """float64 [T, Lmax]: ``-log2 p`` of every symbol of every table (padding: +inf)."""
        counts = np.diff(self.cdfs.astype(np.int64), axis=1)
        with np.errstate(divide="ignore"):
            return self.precision - np.log2(counts)

    @classmethod
    def from_pmfs(
        cls,
        pmfs: Sequence[np.ndarray],
        offsets: Sequence[int] | np.ndarray,
        tail_masses: Sequence[float] | np.ndarray,
        precision: int = DEFAULT_PRECISION,
    ) -> CdfTables:
        """Quantize float pmfs (one per table, plus the escape's tail mass) to integer CDFs.

        See :func:`quantize_pmf` for the algorithm. ``pmfs[t][i]`` is the probability of the value
        ``offsets[t] + i``; ``tail_masses[t]`` that of all values outside the pmf's range.
        """
        if not len(pmfs) == len(offsets) == len(tail_masses):
            raise ValueError(
                f"need one offset and one tail mass per pmf, got {len(pmfs)} pmfs, "
                f"{len(offsets)} offsets and {len(tail_masses)} tail masses"
            )
        if not 1 <= len(pmfs) <= MAX_TABLES:
            raise ValueError(f"need between 1 and {MAX_TABLES} pmfs, got {len(pmfs)}")
        _check_precision(precision, ValueError)
        counts = [
            quantize_pmf(np.append(np.asarray(pmf, np.float64), tail), precision)
            for pmf, tail in zip(pmfs, tail_masses)
        ]
        lengths = np.array([len(c) for c in counts], dtype=np.int64)
        cdfs = np.full((len(counts), int(lengths.max()) + 1), 2**precision, dtype=np.int64)
        for row, table_counts in zip(cdfs, counts):
            row[0] = 0
            row[1 : len(table_counts) + 1] = np.cumsum(table_counts)
        return cls(cdfs, lengths, np.asarray(offsets, dtype=np.int64), precision)

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Plain int32 arrays, keyed ``prefix + name``, for a safetensors file."""
        arrays = {
            "cdfs": self.cdfs,
            "lengths": self.lengths,
            "offsets": self.offsets,
            "precision": np.array([self.precision], dtype=np.int32),
        }
        return {prefix + name: np.array(array, dtype=np.int32) for name, array in arrays.items()}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str = "") -> CdfTables:
        """Tables from arrays written by :meth:`to_arrays`; CorruptDataError if any is bad."""
        missing = [prefix + name for name in _ARRAY_NAMES if prefix + name not in arrays]
        if missing:
            raise CorruptDataError(f"CDF tables: missing array(s) {', '.join(missing)}")
        precision = np.asarray(arrays[prefix + "precision"])
        if precision.shape != (1,) or not np.issubdtype(precision.dtype, np.integer):
            raise CorruptDataError(f"CDF tables: 'precision' must be one integer, got shape {precision.shape}")
        return cls(arrays[prefix + "cdfs"], arrays[prefix + "lengths"], arrays[prefix + "offsets"], int(precision[0]))


def quantize_pmf(probabilities: np.ndarray, precision: int) -> np.ndarray:
    """Integer counts, each >= 1, summing to exactly ``2**precision``, close to ``probabilities``.

    The result depends only on the float64 input values, through exact integer arithmetic:

    1. Each float64 is an exact rational ``m / 2**e``; over a common power-of-two denominator the
       probabilities become integers ``P_i`` with sum ``S``.
    2. Every symbol first gets 1 count (so nothing is uncodable); the remaining
       ``F = 2**precision - n`` counts are shared in proportion: symbol ``i`` gets
       ``floor(P_i * F / S)`` (integer division).
    3. The ``R < n`` counts left over by the floors go, one each, to the symbols with the largest
       remainders ``(P_i * F) mod S``, ties broken by the lower index (largest-remainder method).

    Raises ValueError on negative or non-finite values, an all-zero input, or more symbols than
    ``2**precision`` counts.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n = probabilities.shape[0]
    if probabilities.ndim != 1 or n < 2:
        raise ValueError(f"a pmf needs at least one symbol besides the escape, got shape {probabilities.shape}")
    if not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0):
        raise ValueError("pmf values must be finite and non-negative")
    max_length = min(2**precision, MAX_TABLE_LENGTH)
    if n > max_length:
        raise ValueError(f"{n} symbols do not fit a table of precision {precision} (max {max_length})")
    ratios = [float(p).as_integer_ratio() for p in probabilities]
    denominator = max(d for _, d in ratios)
    numerators = [num * (denominator // den) for num, den in ratios]
    total = sum(numerators)
    if total == 0:
        raise ValueError("pmf sums to zero")
    free = 2**precision - n
    shares = [divmod(num * free, total) for num in numerators]
    counts = [1 + quotient for quotient, _ in shares]
    left_over = free - sum(quotient for quotient, _ in shares)
    by_remainder = sorted(range(n), key=lambda i: (-shares[i][1], i))
    for i in by_remainder[:left_over]:
        counts[i] += 1
    return np.array(counts, dtype=np.int64)


def _check_precision(precision: int, error: type[Exception]) -> None:
    if not isinstance(precision, (int, np.integer)) or not 1 <= precision <= MAX_PRECISION:
        raise error(f"CDF tables: precision must be an integer from 1 to {MAX_PRECISION}, got {precision!r}")


def _as_int_array(array: np.ndarray, name: str, ndim: int) -> np.ndarray:
    """``array`` as int64 after checking it is an integer array of the right rank."""
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.integer):
        raise CorruptDataError(f"CDF tables: {name} must be an integer array, got {array.dtype}")
    if array.ndim != ndim:
        raise CorruptDataError(f"CDF tables: {name} must have {ndim} dimension(s), got shape {array.shape}")
    return array.astype(np.int64)


def _validated_arrays(cdfs, lengths, offsets, precision) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three arrays as int32 after checking every table; CorruptDataError names the first fault."""
    _check_precision(precision, CorruptDataError)
    cdfs = _as_int_array(cdfs, "cdfs", 2)
    lengths = _as_int_array(lengths, "lengths", 1)
    offsets = _as_int_array(offsets, "offsets", 1)
    num_tables = lengths.shape[0]
    if not 1 <= num_tables <= MAX_TABLES:
        raise CorruptDataError(f"CDF tables: need 1 to {MAX_TABLES} tables, got {num_tables}")
    if offsets.shape[0] != num_tables or cdfs.shape[0] != num_tables:
        raise CorruptDataError(
            f"CDF tables: {cdfs.shape[0]} cdf rows, {num_tables} lengths and {offsets.shape[0]} offsets disagree"
        )
    total = 2**precision
    max_length = min(total, MAX_TABLE_LENGTH, cdfs.shape[1] - 1)
    bad = np.flatnonzero((lengths < 2) | (lengths > max_length))
    if bad.size:
        raise CorruptDataError(
            f"CDF tables: table {bad[0]} has length {lengths[bad[0]]} (must be 2..{max_length})"
        )
    bad = np.flatnonzero((offsets < INT32_MIN) | (offsets + lengths - 2 > INT32_MAX))
    if bad.size:
        raise CorruptDataError(f"CDF tables: table {bad[0]} has offset {offsets[bad[0]]} outside the int32 range")
    columns = np.arange(cdfs.shape[1])
    inside = columns[None, :] <= lengths[:, None]
    steps = np.diff(cdfs, axis=1)
    problems = (
        (cdfs[:, 0] != 0, "does not start at 0"),
        (cdfs[np.arange(num_tables), lengths] != total, f"does not end at 2**{precision}"),
        (np.any((steps <= 0) & inside[:, 1:], axis=1), "is not strictly increasing (a symbol has no count)"),
        (np.any((cdfs != total) & ~inside, axis=1), f"is not padded with 2**{precision}"),
    )
    for failed, message in problems:
        bad = np.flatnonzero(failed)
        if bad.size:
            raise CorruptDataError(f"CDF tables: table {bad[0]} {message}")
    return cdfs.astype(np.int32), lengths.astype(np.int32), offsets.astype(np.int32)
