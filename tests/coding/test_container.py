"""The .cpz container: exact layout, round trips, and every validation error of unpack."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest

from convpress.coding.container import (
    MAGIC,
    CpzHeader,
    ModelFamily,
    is_cpz,
    pack,
    unpack,
    weights_hash,
)
from convpress.errors import CodecUnavailableError, CorruptDataError

HASH = bytes(range(1, 9))


def make_header(**changes) -> CpzHeader:
    fields = dict(
        family=ModelFamily.LEARNED_AUTOENCODER,
        model_name="hp-mse",
        weights_hash=HASH,
        quality=75.5,
        width=768,
        height=512,
        mode="RGB",
        symbols_crc=0xDEADBEEF,
    )
    fields.update(changes)
    return CpzHeader(**fields)


def raw_file(
    *,
    magic=MAGIC,
    version=2,
    family=0,
    name=b"hp-mse",
    digest=HASH,
    quality=7550,
    width=b"\x80\x06",
    height=b"\x80\x04",
    mode=1,
    tiling=b"\x00\x00",
    symbols_crc=0xDEADBEEF,
    streams=(b"abc", b""),
    lengths=None,
    crc=None,
) -> bytes:
    """A file built byte by byte from docs/format.md, independently of pack(); CRC right unless given."""
    if lengths is None:
        lengths = bytes(len(s) for s in streams)
    head = (
        magic
        + bytes([version, family, len(name)])
        + name
        + digest
        + struct.pack("<H", quality)
        + width
        + height
        + bytes([mode])
        + tiling
        + struct.pack("<I", symbols_crc)
        + bytes([len(streams)])
        + lengths
    )
    payload = b"".join(streams)
    if crc is None:
        crc = zlib.crc32(head + payload)
    return head + struct.pack("<I", crc) + payload


def test_layout_is_the_documented_one():
    data = pack(make_header(), [b"abc", b""])
    assert data == raw_file()
    fields = "8943505a 02 00 06 68702d6d7365 0102030405060708 7e1d 8006 8004 01 00 00 efbeadde 02 03 00"
    head = bytes.fromhex(fields.replace(" ", ""))
    assert len(head) == 37
    assert data == head + struct.pack("<I", zlib.crc32(head + b"abc")) + b"abc"


def test_header_size():
    """For a 768x512 untiled image: 33 bytes + the model name + the streams' length varints."""
    data = pack(make_header(), [b"x" * 5000, b"y" * 300])
    assert len(data) - 5300 == 43
    assert len(pack(make_header(model_name=""), [])) == 33


@pytest.mark.parametrize(
    "header",
    [
        make_header(),
        make_header(family=ModelFamily.OVERFITTED, model_name="", mode="L", quality=1),
        make_header(mode="RGBA", quality=100, tile_size=512, tile_overlap=32, symbols_crc=0),
        make_header(width=2**15, height=2**15, model_name="a" * 32, symbols_crc=2**32 - 1),
        make_header(width=1, height=2**30),
    ],
)
def test_round_trip(header):
    streams = [b"", b"\x00" * 200, bytes(range(256)) * 3]
    assert unpack(pack(header, streams)) == (header, streams)
    assert unpack(pack(header, [])) == (header, [])
    sixteen = [bytes([i]) * i for i in range(16)]
    assert unpack(pack(header, sixteen)) == (header, sixteen)


def test_quality_is_kept_in_hundredths():
    assert make_header(quality=42.123).quality == 42.12
    assert unpack(pack(make_header(quality=42.126), []))[0].quality == 42.13


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model_name": "bad name"}, "model name"),
        ({"model_name": "x" * 33}, "model name"),
        ({"model_name": "modèle"}, "model name"),
        ({"weights_hash": b"short"}, "weights hash"),
        ({"quality": 0.5}, "quality"),
        ({"quality": 100.01}, "quality"),
        ({"width": 0}, "not positive"),
        ({"width": 2**32}, "exceeds 32 bits"),
        ({"width": 2**16, "height": 2**14 + 1}, "exceeds the limit"),
        ({"mode": "CMYK"}, "mode"),
        ({"tile_size": 2**16 + 1}, "tile size"),
        ({"tile_size": 256, "tile_overlap": 256}, "tile overlap"),
        ({"tile_overlap": 8}, "tile overlap"),
        ({"symbols_crc": -1}, "symbols CRC"),
        ({"family": 7}, "ModelFamily"),
    ],
)
def test_header_refuses_values_the_format_cannot_store(changes, message):
    with pytest.raises(ValueError, match=message):
        make_header(**changes)


def test_pack_refuses_too_many_streams():
    with pytest.raises(ValueError, match="at most 16 streams"):
        pack(make_header(), [b""] * 17)


def test_every_truncation_is_reported_as_truncated():
    data = pack(make_header(), [b"abc", b"defgh"])
    for size in range(1, len(data)):
        with pytest.raises(CorruptDataError, match="truncated"):
            unpack(data[:size])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a .cpz file \\(it is empty\\)"),
        (b"\x89PNG\r\n\x1a\n", "not a .cpz file \\(starts with b'\\\\x89PNG'"),
        (b"CPZ", "not a .cpz file"),
        (raw_file(version=3), "version 3 is not supported: this convpress reads version 2 .*newer"),
        (raw_file(version=1), "version 1 is not supported: this convpress reads version 2"),
        (raw_file(crc=0), "CRC mismatch"),
        (raw_file() + b"\x00", "1 unexpected bytes after the last stream"),
        (raw_file(streams=[b""] * 17), "17 streams \\(at most 16\\)"),
        (raw_file(lengths=b"\x83\x00\x00"), "length of stream 0 is not in shortest form"),
        (raw_file(width=b"\xff\xff\xff\xff\x1f"), "image width exceeds 32 bits"),
        (raw_file(height=b"\xff\xff\xff\xff\xff\x01"), "image height is longer than 5 bytes"),
        (raw_file(width=b"\xc0\x84\x3d", height=b"\xc0\x84\x3d"), "1000000x1000000 exceeds the limit"),
        (raw_file(width=b"\x00"), "image size 0x512 is not positive"),
        (raw_file(family=2), "unknown model family 2"),
        (raw_file(mode=3), "unknown image mode code 3"),
        (raw_file(quality=99), "quality must be between 1 and 100, got 0.99"),
        (raw_file(quality=10001), "quality must be between 1 and 100, got 100.01"),
        (raw_file(name=b"\xc3\xa9"), "model name"),
        (raw_file(tiling=b"\x10\x10"), "tile overlap 16 must be below the tile size 16"),
        (raw_file(tiling=b"\x00\x04"), "tile overlap 4 must be below the tile size 0"),
    ],
)
def test_unpack_errors(data, message):
    with pytest.raises(CorruptDataError, match=message):
        unpack(data)


def test_damaged_byte_is_reported_as_crc_mismatch_not_as_a_field():
    data = bytearray(pack(make_header(), [b"abc"]))
    data[7 + 6 + 8] = 0xFF  # the quality's low byte: 0x1dff = 7679 is still a valid quality
    with pytest.raises(CorruptDataError, match="CRC mismatch"):
        unpack(bytes(data))


def test_stream_length_beyond_the_file_is_truncation_not_allocation():
    data = raw_file(streams=[b"abc"], lengths=b"\xff\xff\xff\xff\x0f")
    with pytest.raises(CorruptDataError, match="truncated .cpz file: the streams need 4294967295 bytes, only 3"):
        unpack(data)


def test_is_cpz():
    assert is_cpz(pack(make_header(), []))
    assert is_cpz(MAGIC)
    assert not is_cpz(b"\xff\xd8\xff\xe0")
    assert not is_cpz(b"")


def test_weights_hash_and_model_check():
    weights = b"some safetensors bytes"
    assert weights_hash(weights) == hashlib.sha256(weights).digest()[:8]
    header = make_header(weights_hash=weights_hash(weights))
    header.check_model("hp-mse", weights_hash(weights))
    with pytest.raises(CodecUnavailableError, match="this file needs model 'hp-mse', not 'hp-msssim'"):
        header.check_model("hp-msssim", weights_hash(weights))
    with pytest.raises(CodecUnavailableError, match=f"other weights .*hash {weights_hash(weights).hex()}"):
        header.check_model("hp-mse", weights_hash(b"retrained"))
