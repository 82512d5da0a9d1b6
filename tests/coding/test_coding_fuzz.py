"""Fuzzing: random, mutated and truncated containers and random streams may only fail cleanly.

Whatever the bytes, ``unpack`` and ``SymbolDecoder`` either succeed or raise CorruptDataError:
no other exception, no hang (hypothesis's deadline would report one), no huge allocation.
"""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convpress.coding.container import CpzHeader, ModelFamily, pack, unpack
from convpress.coding.rangecoder import SymbolDecoder, SymbolEncoder
from convpress.coding.tables import CdfTables
from convpress.errors import CorruptDataError

FUZZ = settings(max_examples=1500, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
FUZZ_STREAMS = settings(FUZZ, max_examples=700)

HEADER = CpzHeader(
    family=ModelFamily.LEARNED_AUTOENCODER,
    model_name="hp-mse",
    weights_hash=bytes(8),
    quality=60.0,
    width=768,
    height=512,
    mode="RGB",
    symbols_crc=0x12345678,
    tile_size=256,
    tile_overlap=16,
)
STREAMS = [b"first stream", b"", b"\x00\x01" * 40]
VALID = pack(HEADER, STREAMS)
HEADER_END = len(VALID) - 4 - sum(map(len, STREAMS))  # where the file CRC starts


def unpack_cleanly(data: bytes) -> None:
    """unpack may return a checked result or raise CorruptDataError, nothing else."""
    try:
        header, streams = unpack(data)
    except CorruptDataError as exc:
        assert str(exc)
        return
    assert isinstance(header, CpzHeader) and header.pixels <= 2**30
    assert sum(map(len, streams)) < len(data)


def reseal(data: bytes) -> bytes:
    """Recompute the file CRC of a damaged header so that the field checks behind it get exercised."""
    head, payload = data[:HEADER_END], data[HEADER_END + 4 :]
    return head + struct.pack("<I", zlib.crc32(head + payload)) + payload


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes(data):
    unpack_cleanly(data)
    unpack_cleanly(VALID[:5] + data)  # past the magic and version checks


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_bytes(edits):
    data = bytearray(VALID)
    for position, value in edits:
        data[position] = value
    unpack_cleanly(bytes(data))
    unpack_cleanly(reseal(bytes(data)))


@FUZZ
@given(st.integers(0, len(VALID)), st.binary(max_size=8), st.integers(0, len(VALID)))
def test_truncated_and_spliced(cut, inserted, position):
    unpack_cleanly(VALID[:cut])
    unpack_cleanly(VALID[:position] + inserted + VALID[position:])


def _tables() -> CdfTables:
    rng = np.random.default_rng(11)
    pmfs = [rng.random(int(rng.integers(1, 30))) ** 4 for _ in range(8)]
    return CdfTables.from_pmfs(pmfs, offsets=rng.integers(-20, 5, 8), tail_masses=np.full(8, 1e-4))


TABLES = _tables()


def _encoded_sample() -> bytes:
    rng = np.random.default_rng(12)
    encoder = SymbolEncoder()
    encoder.encode(rng.integers(-30, 30, 400), rng.integers(0, 8, 400), TABLES)
    return encoder.finish()


SAMPLE_STREAM = _encoded_sample()


def decode_cleanly(data: bytes, table_index: np.ndarray) -> None:
    try:
        decoded = SymbolDecoder(data).decode(table_index, TABLES)
    except CorruptDataError as exc:
        assert "corrupt symbol stream" in str(exc)
        return
    assert decoded.shape == table_index.shape and decoded.dtype == np.int32


@FUZZ_STREAMS
@given(st.binary(max_size=120), st.lists(st.integers(0, 7), max_size=600))
def test_random_streams(data, table_index):
    decode_cleanly(data, np.array(table_index, dtype=np.int64))


@FUZZ_STREAMS
@given(
    st.lists(st.tuples(st.integers(0, len(SAMPLE_STREAM) - 1), st.integers(0, 255)), max_size=3),
    st.integers(0, 800),
)
def test_mutated_streams(edits, count):
    data = bytearray(SAMPLE_STREAM)
    for position, value in edits:
        data[position] = value
    decode_cleanly(bytes(data), np.arange(count) % 8)
