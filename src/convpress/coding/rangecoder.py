"""Range coding of integer symbols with per-symbol CDF tables, on top of ``constriction``.

The learned codec hands over arrays of integer symbols and, for each, the index of the table that
models it. :class:`SymbolEncoder` codes them into one stream in call order (the coder is a queue,
first in first out), :class:`SymbolDecoder` gets them back when called with the same table indices
in the same order. ``docs/format.md`` describes the stream bit-exactly.

Speed: one call groups its symbols by table (a stable radix sort of the uint16 indices) and codes
each group with a single vectorized constriction call, so the cost per symbol is constriction's,
not Python's.

Determinism: constriction builds its models from float probabilities; it is given the exact
dyadic values ``count / 2**precision`` of the integer tables (see
:meth:`CdfTables.probabilities`), which float64 holds exactly, so its 24-bit model is an exact
integer function of the table and the bytes depend only on the integers.

Values outside a table's range are coded as the ESCAPE symbol, and after all the call's table
symbols, each escaped value follows as: a direction bit, ``k = floor(log2 d)`` for its distance
``d`` to the range (5 bits) and the ``k`` bits of ``d`` below its leading one, so any int32
round-trips.
"""

from __future__ import annotations

import weakref
import zlib

import constriction
import numpy as np

from convpress.coding.tables import INT32_MAX, INT32_MIN, CdfTables
from convpress.errors import CorruptDataError

_queue = constriction.stream.queue
_model = constriction.stream.model

ESCAPE_LENGTH_BITS = 5
"""The payload size ``k = floor(log2 d)`` (0-31) of an escaped distance ``d`` is coded in 5 bits."""
_CHUNK_BITS = 16
"""Escape payload bits are coded in chunks of at most 16 (constriction's uniform model is < 2**24)."""

_DIRECTION = _model.Uniform(2)
_PAYLOAD_BITS = _model.Uniform(2**ESCAPE_LENGTH_BITS)
_PAYLOAD_CHUNK = _model.Uniform()
_MODEL_CACHE: weakref.WeakKeyDictionary[CdfTables, list] = weakref.WeakKeyDictionary()


def _table_models(tables: CdfTables) -> list:
    """One constriction Categorical model per table, built once per :class:`CdfTables` object."""
    models = _MODEL_CACHE.get(tables)
    if models is None:
        models = [
            _model.Categorical(tables.probabilities(t), perfect=False) for t in range(tables.num_tables)
        ]
        _MODEL_CACHE[tables] = models
    return models


def _checked_table_index(table_index: np.ndarray, tables: CdfTables) -> np.ndarray:
    """Flat uint16 table indices, after checking they name existing tables."""
    table_index = np.asarray(table_index)
    if table_index.size and not np.issubdtype(table_index.dtype, np.integer):
        raise ValueError(f"table indices must be integers, got {table_index.dtype}")
    flat = table_index.reshape(-1).astype(np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= tables.num_tables):
        raise ValueError(f"table indices must be in 0..{tables.num_tables - 1}, got {flat.min()}..{flat.max()}")
    return flat.astype(np.uint16)


class _TableGroups:
    """A call's symbols sorted by table (stable), as one group of consecutive entries per table in use.

    The split into symbol indices and the merge back are vectorized over the whole call, so the
    only per-table work is the constriction call itself: the overfitted codec makes a thousand
    calls of a few hundred symbols spread over ~100 tables each.
    """

    def __init__(self, flat_index: np.ndarray, tables: CdfTables) -> None:
        self.order = np.argsort(flat_index, kind="stable")
        """Positions in the call, grouped by table in ascending order, original order within a group."""
        self.table = flat_index[self.order].astype(np.int64)
        """The table of each sorted entry."""
        self.starts = np.flatnonzero(np.diff(self.table, prepend=-1))
        self.offsets = tables.offsets.astype(np.int64)[self.table]
        self.escape = (tables.lengths.astype(np.int64) - 1)[self.table]

    def tables_and_counts(self) -> list[tuple[int, int]]:
        """(table, number of symbols) of every group, in coding order."""
        counts = np.diff(np.append(self.starts, self.table.size))
        return list(zip(self.table[self.starts].tolist(), counts.tolist()))

    def symbol_indices(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """int32 symbol indices in sorted order (ESCAPE for values outside the table), and the escapes' positions in coding order."""
        indices = values[self.order] - self.offsets
        escaped = (indices < 0) | (indices >= self.escape)
        indices[escaped] = self.escape[escaped]
        return indices.astype(np.int32), np.sort(self.order[escaped])

    def split(self, indices: np.ndarray) -> list[np.ndarray]:
        """Sorted-order :meth:`symbol_indices`, one array per group."""
        return np.split(indices, self.starts[1:])

    def merge(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values (int64, call order) of the groups' concatenated symbol indices, and the escapes' positions in coding order."""
        values = np.empty(indices.size, dtype=np.int64)
        values[self.order] = indices + self.offsets
        return values, np.sort(self.order[indices == self.escape])


def _update_checksum(checksum: int, symbols: np.ndarray) -> int:
    """CRC32 of the symbols as little-endian int32, continuing ``checksum``."""
    return zlib.crc32(np.ascontiguousarray(symbols, dtype="<i4").tobytes(), checksum)


def _words_to_bytes(words: np.ndarray) -> bytes:
    """Big-endian bytes of the coder's 32-bit words, trailing zero bytes dropped.

    The decoder reads missing words as zeros, and the last word usually ends in zero bytes.
    """
    return words.astype(">u4").tobytes().rstrip(b"\x00")


def _bytes_to_words(data: bytes) -> np.ndarray:
    padded = bytes(data) + b"\x00" * (-len(data) % 4)
    return np.frombuffer(padded, dtype=">u4").astype(np.uint32)


def _checked_values(symbols: np.ndarray, table_index: np.ndarray) -> np.ndarray:
    """Flat int64 symbol values, after checking they are integers fitting int32, one per table index."""
    symbols = np.asarray(symbols)
    if symbols.shape != np.shape(table_index):
        raise ValueError(f"symbols have shape {symbols.shape} but table indices {np.shape(table_index)}")
    if symbols.size and not np.issubdtype(symbols.dtype, np.integer):
        raise ValueError(f"symbols must be integers, got {symbols.dtype}")
    values = symbols.reshape(-1).astype(np.int64)
    if values.size and (values.min() < INT32_MIN or values.max() > INT32_MAX):
        raise ValueError("symbols must fit in int32")
    return values


def _escape_distance(values: np.ndarray, table: np.ndarray, tables: CdfTables) -> tuple[np.ndarray, np.ndarray]:
    """Whether each escaped value lies below its table's range, and its distance (>= 1) to it."""
    below = values < tables.offsets[table]
    return below, np.where(below, tables.offsets[table] - values, values - tables.max_value[table])


def _escape_parts(distance: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``k = floor(log2 d)`` and the low/high chunks of the ``k`` bits of ``d`` below its leading one.

    For distances ``1 <= d < 2**32``.
    """
    _, exponent = np.frexp(distance.astype(np.float64))  # exact: d < 2**53
    payload_bits = exponent.astype(np.int64) - 1
    payload = distance - (np.int64(1) << payload_bits)
    low = payload & ((1 << _CHUNK_BITS) - 1)
    high = payload >> _CHUNK_BITS
    return payload_bits, low, high


def _chunk_sizes(payload_bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number of bits in the low and high payload chunks for each payload size ``k``."""
    low_bits = np.minimum(payload_bits, _CHUNK_BITS)
    return low_bits, payload_bits - low_bits


class SymbolEncoder:
    """Accumulates symbols over any number of :meth:`encode` calls; :meth:`finish` gives the bytes.

    ``checksum`` is the CRC32 of every symbol encoded so far (little-endian int32, call order),
    continuing ``checksum_seed``: the container stores it so the decoder can tell a desynchronised
    stream from a good one. Seed a second coder with the first one's checksum to cover both.
    """

    def __init__(self, checksum_seed: int = 0) -> None:
        self._encoder = _queue.RangeEncoder()
        self.checksum = checksum_seed

    def encode(self, symbols: np.ndarray, table_index: np.ndarray, tables: CdfTables) -> None:
        """Append ``symbols`` (any int32 values), each coded with table ``table_index[...]``."""
        flat_index = _checked_table_index(table_index, tables)
        values = _checked_values(symbols, table_index)
        models = _table_models(tables)
        groups = _TableGroups(flat_index, tables)
        indices, escape_positions = groups.symbol_indices(values)
        encode = self._encoder.encode
        for (table, _), group in zip(groups.tables_and_counts(), groups.split(indices)):
            encode(group, models[table])
        self._encode_escapes(values[escape_positions], flat_index[escape_positions], tables)
        self.checksum = _update_checksum(self.checksum, values)

    def _encode_escapes(self, values: np.ndarray, table: np.ndarray, tables: CdfTables) -> None:
        if not values.size:
            return
        below, distance = _escape_distance(values, table, tables)
        payload_bits, low, high = _escape_parts(distance)
        low_bits, high_bits = _chunk_sizes(payload_bits)
        self._encoder.encode(below.astype(np.int32), _DIRECTION)
        self._encoder.encode(payload_bits.astype(np.int32), _PAYLOAD_BITS)
        for chunk, bits in ((low, low_bits), (high, high_bits)):
            coded = bits > 0
            sizes = (np.int64(1) << bits[coded]).astype(np.int32)
            self._encoder.encode(chunk[coded].astype(np.int32), _PAYLOAD_CHUNK, sizes)

    def finish(self) -> bytes:
        """The stream so far (it may be called again after more :meth:`encode` calls)."""
        return _words_to_bytes(self._encoder.get_compressed())


class SymbolDecoder:
    """Decodes a stream written by :class:`SymbolEncoder`, with the same sequence of calls.

    Corrupt data raises :class:`CorruptDataError` or decodes to wrong symbols, which
    :meth:`verify` catches through the checksum; it never hangs, since the amount decoded is
    always the caller's, never the data's.
    """

    def __init__(self, data: bytes, checksum_seed: int = 0) -> None:
        self._decoder = _queue.RangeDecoder(_bytes_to_words(data))
        self.checksum = checksum_seed

    def decode(self, table_index: np.ndarray, tables: CdfTables) -> np.ndarray:
        """int32 symbols, one per entry of ``table_index`` and of its shape."""
        flat_index = _checked_table_index(table_index, tables)
        models = _table_models(tables)
        groups = _TableGroups(flat_index, tables)
        indices = self._decode_checked(self._decode_groups, models, groups.tables_and_counts())
        values, escape_positions = groups.merge(indices)
        values[escape_positions] = self._decode_escapes(flat_index[escape_positions], tables)
        self.checksum = _update_checksum(self.checksum, values)
        return values.astype(np.int32).reshape(np.shape(table_index))

    def _decode_groups(self, models: list, groups: list[tuple[int, int]]) -> np.ndarray:
        """The symbol indices of every (table, count) group, concatenated."""
        decode = self._decoder.decode
        parts = [decode(models[table], count) for table, count in groups]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def _decode_escapes(self, table: np.ndarray, tables: CdfTables) -> np.ndarray:
        if not table.size:
            return np.empty(0, dtype=np.int64)
        below = self._decode_checked(self._decoder.decode, _DIRECTION, table.size).astype(bool)
        payload_bits = self._decode_checked(self._decoder.decode, _PAYLOAD_BITS, table.size).astype(np.int64)
        chunks = []
        for bits in _chunk_sizes(payload_bits):
            chunk = np.zeros(table.size, dtype=np.int64)
            coded = bits > 0
            if coded.any():
                sizes = (np.int64(1) << bits[coded]).astype(np.int32)
                chunk[coded] = self._decode_checked(self._decoder.decode, _PAYLOAD_CHUNK, sizes)
            chunks.append(chunk)
        low, high = chunks
        distance = (np.int64(1) << payload_bits) + (high << _CHUNK_BITS) + low
        values = np.where(below, tables.offsets[table] - distance, tables.max_value[table] + distance)
        if values.min() < INT32_MIN or values.max() > INT32_MAX:
            raise CorruptDataError("corrupt symbol stream: an escaped value is outside the int32 range")
        return values

    @staticmethod
    def _decode_checked(method, *args) -> np.ndarray:
        """Run a constriction decode call, turning its failures on invalid data into CorruptDataError."""
        try:
            return np.asarray(method(*args))
        except BaseException as exc:  # constriction raises AssertionError, and pyo3 panics are BaseException
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise CorruptDataError(f"corrupt symbol stream: {exc}") from exc

    def verify(self, expected_checksum: int) -> None:
        """Raise CorruptDataError unless the decoded symbols have ``expected_checksum``."""
        if self.checksum != expected_checksum:
            raise CorruptDataError(
                f"decoded symbols do not match the file's checksum ({self.checksum:08x} != "
                f"{expected_checksum:08x}): the stream is corrupt or was made with other model tables"
            )


def estimate_bits(symbols: np.ndarray, table_index: np.ndarray, tables: CdfTables) -> float:
    """The ideal code length ``-sum log2 p`` of ``symbols`` in bits, escape payloads included.

    The coded stream is this long within a fraction of a percent for large inputs (the coder adds
    a few bytes and a tiny loss from requantizing to 24 bits).
    """
    flat_index = _checked_table_index(table_index, tables)
    values = _checked_values(symbols, table_index)
    information = tables.information_bits()
    groups = _TableGroups(flat_index, tables)
    indices, escape_positions = groups.symbol_indices(values)
    bits = float(information[groups.table, indices].sum())
    if escape_positions.size:
        _, distance = _escape_distance(values[escape_positions], flat_index[escape_positions], tables)
        payload_bits, _, _ = _escape_parts(distance)
        bits += escape_positions.size * (1 + ESCAPE_LENGTH_BITS) + payload_bits.sum()
    return float(bits)
