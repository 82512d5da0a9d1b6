"""Range coding of symbols with integer tables: round trips, escapes, determinism, rate, bad data."""

from __future__ import annotations

import time
import zlib

import constriction
import numpy as np
import pytest

from convpress.coding.rangecoder import SymbolDecoder, SymbolEncoder, estimate_bits
from convpress.coding.tables import CdfTables
from convpress.errors import CorruptDataError

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def small_tables() -> CdfTables:
    """Two tables with 4-bit precision: values -1..1 (counts 4, 7, 4; escape 1) and 7 (escape 8)."""
    cdfs = np.array([[0, 4, 11, 15, 16], [0, 8, 16, 16, 16]])
    return CdfTables(cdfs, lengths=np.array([4, 2]), offsets=np.array([-1, 7]), precision=4)


def round_trip(calls: list[tuple[np.ndarray, np.ndarray]], tables: CdfTables) -> tuple[bytes, list[np.ndarray]]:
    """Encode each (symbols, table_index) in turn, then decode them with the same calls."""
    encoder = SymbolEncoder()
    for symbols, table_index in calls:
        encoder.encode(symbols, table_index, tables)
    data = encoder.finish()
    decoder = SymbolDecoder(data)
    decoded = [decoder.decode(table_index, tables) for _, table_index in calls]
    decoder.verify(encoder.checksum)
    return data, decoded


def test_round_trip_in_several_calls(laplace_tables, laplace_symbols):
    symbols, table_index = laplace_symbols
    rng = np.random.default_rng(5)
    hyper = rng.integers(-3, 4, size=(1, 8, 12, 16))
    hyper_index = rng.integers(0, 64, size=hyper.shape)
    main = symbols[:98304].reshape(1, 192, 16, 32)
    main_index = table_index[:98304].reshape(main.shape)
    calls = [(hyper, hyper_index), (main[:, ::2], main_index[:, ::2]), (main[:, 1::2], main_index[:, 1::2])]
    _, decoded = round_trip(calls, laplace_tables)
    for (original, _), result in zip(calls, decoded):
        assert result.dtype == np.int32
        assert result.shape == original.shape
        assert np.array_equal(result, original)


@pytest.mark.parametrize(
    "outliers",
    [
        [INT32_MAX, INT32_MIN],
        [2, -2, 3, -3],  # distance 1 and 2 beyond table 0's range -1..1
        [2 + 2**16 - 1, 2 + 2**16, 2 + 2**16 + 1, 1 + 2**17, 2 + 2**17],  # chunk boundaries of the payload
        [-(2**20), 10**9, -(10**9), 123456789],
    ],
)
def test_escaped_values_round_trip(outliers):
    tables = small_tables()
    symbols = np.array([0, *outliers, 1, -1, 0], dtype=np.int64)
    table_index = np.zeros(symbols.shape, dtype=np.int64)
    _, (decoded,) = round_trip([(symbols, table_index)], tables)
    assert decoded.tolist() == symbols.tolist()


def test_escapes_of_a_one_value_table_at_the_int32_limits():
    tables = CdfTables(np.array([[0, 15, 16], [0, 15, 16]]), np.array([2, 2]), np.array([INT32_MAX, INT32_MIN]), 4)
    symbols = np.array([INT32_MAX, INT32_MIN, 0, INT32_MIN, INT32_MAX, -1])
    table_index = np.array([0, 0, 0, 1, 1, 1])
    _, (decoded,) = round_trip([(symbols, table_index)], tables)
    assert decoded.tolist() == symbols.tolist()


def test_empty_and_single_symbol_calls():
    tables = small_tables()
    empty = np.zeros((0, 3), dtype=np.int32)
    data, decoded = round_trip([(empty, empty), (np.array([7]), np.array([1])), (empty, empty)], tables)
    assert [d.shape for d in decoded] == [(0, 3), (1,), (0, 3)]
    assert decoded[1].tolist() == [7]
    assert data == b""  # the first interval of table 1 codes to all-zero words, which are dropped
    nothing = SymbolEncoder()
    nothing.encode(np.array([]), np.array([]), tables)
    assert nothing.finish() == b""
    assert SymbolDecoder(b"").decode(np.array([], dtype=np.int64), tables).shape == (0,)


def test_many_tables_round_trip():
    rng = np.random.default_rng(7)
    pmfs = [rng.random(rng.integers(1, 40)) for _ in range(3000)]
    tables = CdfTables.from_pmfs(pmfs, offsets=rng.integers(-50, 50, 3000), tail_masses=np.full(3000, 1e-3))
    table_index = rng.integers(0, 3000, 20000)
    symbols = tables.offsets[table_index] + rng.integers(-2, 42, 20000)  # some escapes on both sides
    _, (decoded,) = round_trip([(symbols, table_index)], tables)
    assert np.array_equal(decoded, symbols)


def test_exact_bytes_are_stable():
    """The stream format is fixed: a change of coder, table order or escape code shows up here."""
    tables = small_tables()
    symbols = np.array([0, 1, -1, 0, 0, 5, 7, 7, -40000, 1, 0, 7, 8])
    table_index = np.array([0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1])
    encoder = SymbolEncoder()
    encoder.encode(symbols, table_index, tables)
    assert encoder.finish().hex() == GOLDEN_HEX
    assert encoder.checksum == zlib.crc32(symbols.astype("<i4").tobytes())


GOLDEN_HEX = "90daac035c224ec3"  # 8 bytes; the ideal code length is 57.8 bits


def test_bytes_depend_only_on_the_integers(laplace_tables, laplace_symbols):
    symbols, table_index = laplace_symbols
    symbols, table_index = symbols[:50000], table_index[:50000]
    reference = SymbolEncoder()
    reference.encode(symbols, table_index, laplace_tables)
    expected = reference.finish()

    reloaded = CdfTables.from_arrays(laplace_tables.to_arrays())  # a new object: new constriction models
    by_hand = CdfTables(
        laplace_tables.cdfs.astype(np.int64), laplace_tables.lengths.astype(np.uint16), laplace_tables.offsets, 16
    )
    variants = [
        (reloaded, symbols, table_index),
        (by_hand, symbols.astype(np.int64), table_index.astype(np.uint8)),
        (laplace_tables, symbols.astype(np.int16).reshape(250, 200), table_index.reshape(250, 200)),
        (laplace_tables, list(symbols), list(table_index)),
    ]
    for tables, variant_symbols, variant_index in variants:
        encoder = SymbolEncoder()
        encoder.encode(np.asarray(variant_symbols), np.asarray(variant_index), tables)
        assert encoder.finish() == expected
        assert encoder.checksum == reference.checksum


def test_constriction_sees_exactly_the_integer_tables():
    """The float probabilities given to constriction are exact, and its 24-bit model is the documented one.

    docs/format.md: symbol i of a table with n symbols and cumulative counts C at precision P covers
    ``[floor(C[i] * (2**24 - n) / 2**P) + i, floor(C[i+1] * (2**24 - n) / 2**P) + i + 1)``. A fresh
    range decoder maps its first two words (as one 64-bit number x) to the point
    ``x // ((2**64 - 1) >> 24)``, so decoding crafted words probes both ends of every interval.
    """
    tables = CdfTables.from_pmfs([np.array([1e-9, 3.0, 100.0, 150.0])], [0], [2e-9], precision=8)
    counts = tables.counts(0)
    probabilities = tables.probabilities(0)
    assert np.array_equal(probabilities * 2**8, counts) and probabilities.sum() == 1.0
    n, cdf = len(counts), tables.cdfs[0].astype(np.int64)
    boundaries = cdf * (2**24 - n) // 2**8 + np.arange(n + 1)
    model = constriction.stream.model.Categorical(probabilities, perfect=False)
    scale = (2**64 - 1) >> 24
    for symbol in range(n):
        for point in (boundaries[symbol], boundaries[symbol + 1] - 1):
            x = int(point) * scale
            words = np.array([x >> 32, x & 0xFFFFFFFF], dtype=np.uint32)
            assert constriction.stream.queue.RangeDecoder(words).decode(model) == symbol


def test_rate_estimate_matches_coded_size(laplace_tables, laplace_symbols):
    symbols, table_index = laplace_symbols
    symbols = symbols.copy()
    symbols[::1000] = 5000  # a few hundred escapes
    encoder = SymbolEncoder()
    encoder.encode(symbols, table_index, laplace_tables)
    coded_bits = 8 * len(encoder.finish())
    estimate = estimate_bits(symbols, table_index, laplace_tables)
    assert abs(coded_bits / estimate - 1) < 0.01


def test_rate_estimate_exact_values():
    tables = small_tables()
    # counts 4, 7, 4 of 16: -1 and 1 cost 2 bits each, 0 costs log2(16/7); table 1's 7 costs 1 bit
    assert estimate_bits(np.array([-1, 1, 7]), np.array([0, 0, 1]), tables) == pytest.approx(5.0)
    assert estimate_bits(np.array([0]), np.array([0]), tables) == pytest.approx(np.log2(16 / 7))
    # escape of 2 from table 0: 4 bits for ESCAPE, 1 direction, 5 bit length, 0 payload bits (distance 1)
    assert estimate_bits(np.array([2]), np.array([0]), tables) == pytest.approx(10.0)
    # 1 + 2**20 is 2**20 above the range 7..7: 20 payload bits
    assert estimate_bits(np.array([7 + 2**20]), np.array([1]), tables) == pytest.approx(27.0)


def test_checksum_chains_across_coders():
    tables = small_tables()
    first, second = np.array([0, 1, 9]), np.array([7, -3])
    encoder_a = SymbolEncoder()
    encoder_a.encode(first, np.zeros(3, int), tables)
    encoder_b = SymbolEncoder(checksum_seed=encoder_a.checksum)
    encoder_b.encode(second, np.array([1, 0]), tables)
    both = np.concatenate([first, second]).astype("<i4").tobytes()
    assert encoder_b.checksum == zlib.crc32(both)
    decoder_a = SymbolDecoder(encoder_a.finish())
    decoder_a.decode(np.zeros(3, int), tables)
    decoder_b = SymbolDecoder(encoder_b.finish(), checksum_seed=decoder_a.checksum)
    decoder_b.decode(np.array([1, 0]), tables)
    decoder_b.verify(encoder_b.checksum)


def test_desynchronised_decoding_is_caught_by_the_checksum(laplace_tables, laplace_symbols):
    symbols, table_index = laplace_symbols
    encoder = SymbolEncoder()
    encoder.encode(symbols[:1000], table_index[:1000], laplace_tables)
    decoder = SymbolDecoder(encoder.finish())
    decoder.decode(np.roll(table_index[:1000], 1), laplace_tables)  # the wrong tables
    with pytest.raises(CorruptDataError, match="do not match the file's checksum"):
        decoder.verify(encoder.checksum)


@pytest.mark.parametrize("table", [5, 40])
def test_decoding_past_the_end_errors_or_returns_symbols_quickly(laplace_tables, table):
    encoder = SymbolEncoder()
    encoder.encode(np.array([0, 1, 2]), np.array([10, 20, 30]), laplace_tables)
    decoder = SymbolDecoder(encoder.finish())
    start = time.perf_counter()
    try:
        assert decoder.decode(np.full(200_000, table), laplace_tables).shape == (200_000,)
    except CorruptDataError as exc:
        assert "corrupt symbol stream" in str(exc)
    assert time.perf_counter() - start < 5


def test_garbage_gives_corrupt_data_error_or_symbols(laplace_tables):
    rng = np.random.default_rng(3)
    outcomes = set()
    for _ in range(50):
        garbage = rng.bytes(int(rng.integers(0, 64)))
        try:
            decoded = SymbolDecoder(garbage).decode(rng.integers(0, 64, 5000), laplace_tables)
            assert decoded.dtype == np.int32
            outcomes.add("decoded")
        except CorruptDataError as exc:
            assert "corrupt symbol stream" in str(exc)
            outcomes.add("error")
    assert outcomes == {"decoded", "error"}


def test_escaped_value_beyond_int32_is_corrupt_data():
    tables = CdfTables(np.array([[0, 15, 16], [0, 15, 16]]), np.array([2, 2]), np.array([0, 10]), 4)
    encoder = SymbolEncoder()
    encoder.encode(np.array([INT32_MAX]), np.array([0]), tables)  # distance 2**31 - 1 above value 0
    with pytest.raises(CorruptDataError, match="outside the int32 range"):
        SymbolDecoder(encoder.finish()).decode(np.array([1]), tables)  # ... above value 10


@pytest.mark.parametrize(
    ("symbols", "table_index", "message"),
    [
        (np.array([0, 1]), np.array([0]), "shape"),
        (np.array([0]), np.array([2]), "table indices must be in 0..1"),
        (np.array([0]), np.array([-1]), "table indices must be in 0..1"),
        (np.array([0.5]), np.array([0]), "symbols must be integers"),
        (np.array([0]), np.array([0.0]), "table indices must be integers"),
        (np.array([2**31]), np.array([0]), "int32"),
    ],
)
def test_encoder_refuses_bad_arguments(symbols, table_index, message):
    with pytest.raises(ValueError, match=message):
        SymbolEncoder().encode(symbols, table_index, small_tables())


def test_stream_drops_trailing_zero_bytes():
    tables = small_tables()
    encoder = SymbolEncoder()
    encoder.encode(np.array([0, 0, 0, 0]), np.zeros(4, int), tables)
    data = encoder.finish()
    assert data and not data.endswith(b"\x00")
    assert isinstance(data, bytes)
    assert SymbolDecoder(data + b"\x00\x00").decode(np.zeros(4, int), tables).tolist() == [0, 0, 0, 0]
