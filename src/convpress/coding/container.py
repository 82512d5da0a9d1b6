"""The ``.cpz`` file: a small self-describing header followed by the coded streams.

``docs/format.md`` describes every byte. The header names the model (family, name, weights hash)
so a decoder with other weights refuses the file instead of decoding noise, carries the image
geometry and the quality, a CRC32 of the decoded symbols (to catch a stream that decodes to wrong
symbols) and a CRC32 of the whole file (to catch any damaged byte).

:func:`unpack` trusts nothing: it checks the structure, sizes and CRC before handing out any
stream, and every problem is a :class:`~convpress.errors.CorruptDataError` saying what is wrong.
"""

from __future__ import annotations

import enum
import hashlib
import string
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from convpress.errors import CodecUnavailableError, CorruptDataError

MAGIC = b"\x89CPZ"
FORMAT_VERSION = 2
"""2: the learned codec pads images to multiples of 16 (was 64) and codes only the image's latents."""
WEIGHTS_HASH_BYTES = 8
MAX_MODEL_NAME_LENGTH = 32
MODEL_NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + "._+-")
MAX_STREAMS = 16
MAX_PIXELS = 2**30
MAX_TILE_SIZE = 2**16
QUALITY_STEPS = 100
"""Quality is stored in hundredths: 1.00 .. 100.00 as the u16 100 .. 10000."""
MODES = ("L", "RGB", "RGBA")
_U32_MAX = 2**32 - 1
_VARINT_MAX_BYTES = 5


class ModelFamily(enum.IntEnum):
    """What kind of model decodes the streams."""

    LEARNED_AUTOENCODER = 0
    OVERFITTED = 1
    """A per-image model whose parameters travel in the file itself."""


@dataclass(frozen=True)
class CpzHeader:
    """Everything the header stores; quality is rounded to hundredths on construction."""

    family: ModelFamily
    model_name: str
    weights_hash: bytes
    """First :data:`WEIGHTS_HASH_BYTES` bytes of the SHA-256 of the weights (see :func:`weights_hash`)."""
    quality: float
    width: int
    height: int
    mode: str
    symbols_crc: int
    """CRC32 of the decoded symbols, see :attr:`convpress.coding.rangecoder.SymbolEncoder.checksum`."""
    tile_size: int = 0
    """Side of the square tiles the image was coded in; 0 when it was coded whole."""
    tile_overlap: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", ModelFamily(self.family))
        object.__setattr__(self, "quality", round(float(self.quality) * QUALITY_STEPS) / QUALITY_STEPS)
        _check_fields(self)

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def check_model(self, model_name: str, weights_hash: bytes) -> None:
        """Refuse to decode with a model other than the one that wrote the file."""
        if model_name != self.model_name:
            raise CodecUnavailableError(f"this file needs model {self.model_name!r}, not {model_name!r}")
        if weights_hash != self.weights_hash:
            raise CodecUnavailableError(
                f"this file was made with other weights of model {self.model_name!r} "
                f"(hash {self.weights_hash.hex()}, installed {weights_hash.hex()}); "
                "install the matching weights to decode it"
            )


def weights_hash(weights: bytes) -> bytes:
    """The header's fingerprint of a model's weights: the first 8 bytes of their SHA-256."""
    return hashlib.sha256(weights).digest()[:WEIGHTS_HASH_BYTES]


def is_cpz(data: bytes) -> bool:
    """True when ``data`` starts with the ``.cpz`` magic bytes (for the codec registry's sniffing)."""
    return bytes(data[: len(MAGIC)]) == MAGIC


def model_family(data: bytes) -> ModelFamily | None:
    """The model family byte of a ``.cpz`` file, read without parsing the rest (for sniffing).

    None when ``data`` is not a ``.cpz`` file, is too short to have the byte, or names an unknown
    family. Codecs that share the ``.cpz`` extension tell their files apart with it.
    """
    position = len(MAGIC) + 1
    if not is_cpz(data) or len(data) <= position or data[position] not in ModelFamily._value2member_map_:
        return None
    return ModelFamily(data[position])


def _check_fields(header: CpzHeader) -> None:
    """ValueError naming the first field outside what the format can store."""
    name = header.model_name
    if len(name) > MAX_MODEL_NAME_LENGTH or not set(name) <= MODEL_NAME_CHARACTERS:
        raise ValueError(
            f"model name must be up to {MAX_MODEL_NAME_LENGTH} characters of [A-Za-z0-9._+-], got {name!r}"
        )
    if not isinstance(header.weights_hash, bytes) or len(header.weights_hash) != WEIGHTS_HASH_BYTES:
        raise ValueError(f"weights hash must be {WEIGHTS_HASH_BYTES} bytes")
    if not 1.0 <= header.quality <= 100.0:
        raise ValueError(f"quality must be between 1 and 100, got {header.quality:g}")
    if not (1 <= header.width <= _U32_MAX and 1 <= header.height <= _U32_MAX):
        raise ValueError(f"image size {header.width}x{header.height} is not positive or exceeds 32 bits")
    if header.pixels > MAX_PIXELS:
        raise ValueError(f"image size {header.width}x{header.height} exceeds the limit of {MAX_PIXELS} pixels")
    if header.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {header.mode!r}")
    if not 0 <= header.tile_size <= MAX_TILE_SIZE:
        raise ValueError(f"tile size must be 0 (untiled) to {MAX_TILE_SIZE}, got {header.tile_size}")
    if not (0 <= header.tile_overlap < max(header.tile_size, 1)):
        raise ValueError(
            f"tile overlap {header.tile_overlap} must be below the tile size {header.tile_size} (0 when untiled)"
        )
    if not 0 <= header.symbols_crc <= _U32_MAX:
        raise ValueError(f"symbols CRC must be a u32, got {header.symbols_crc}")


def _varint(value: int) -> bytes:
    """Unsigned LEB128: 7 bits per byte, low bits first, high bit set on all but the last byte."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _header_bytes(header: CpzHeader, stream_lengths: Sequence[int]) -> bytes:
    """Every header byte up to (not including) the file CRC."""
    name = header.model_name.encode("ascii")
    parts = [
        MAGIC,
        bytes([FORMAT_VERSION, header.family, len(name)]),
        name,
        header.weights_hash,
        struct.pack("<H", round(header.quality * QUALITY_STEPS)),
        _varint(header.width),
        _varint(header.height),
        bytes([MODES.index(header.mode)]),
        _varint(header.tile_size),
        _varint(header.tile_overlap),
        struct.pack("<I", header.symbols_crc),
        bytes([len(stream_lengths)]),
        *(_varint(length) for length in stream_lengths),
    ]
    return b"".join(parts)


def pack(header: CpzHeader, streams: Sequence[bytes]) -> bytes:
    """The ``.cpz`` file for ``header`` and ``streams`` (at most :data:`MAX_STREAMS`)."""
    if len(streams) > MAX_STREAMS:
        raise ValueError(f"a .cpz file holds at most {MAX_STREAMS} streams, got {len(streams)}")
    lengths = [len(stream) for stream in streams]
    if max(lengths, default=0) > _U32_MAX:
        raise ValueError("a stream is longer than 4 GiB")
    head = _header_bytes(header, lengths)
    crc = zlib.crc32(b"".join(streams), zlib.crc32(head))
    return b"".join([head, struct.pack("<I", crc), *streams])


class _Reader:
    """Reads header fields from the front of ``data``; running out is a 'truncated' error."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def take(self, size: int, what: str) -> bytes:
        end = self.position + size
        if end > len(self.data):
            raise CorruptDataError(f"truncated .cpz file: it ends inside the {what} (at byte {len(self.data)})")
        chunk = self.data[self.position : end]
        self.position = end
        return chunk

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def varint(self, what: str) -> int:
        """A canonical (shortest-form) LEB128 u32."""
        value = 0
        for index in range(_VARINT_MAX_BYTES):
            byte = self.u8(what)
            value |= (byte & 0x7F) << (7 * index)
            if not byte & 0x80:
                if byte == 0 and index > 0:
                    raise CorruptDataError(f"corrupt .cpz header: the {what} is not in shortest form")
                if value > _U32_MAX:
                    raise CorruptDataError(f"corrupt .cpz header: the {what} exceeds 32 bits")
                return value
        raise CorruptDataError(f"corrupt .cpz header: the {what} is longer than {_VARINT_MAX_BYTES} bytes")


def _check_magic_and_version(data: bytes) -> None:
    if not data:
        raise CorruptDataError("not a .cpz file (it is empty)")
    if len(data) < len(MAGIC) and MAGIC.startswith(data):
        raise CorruptDataError(f"truncated .cpz file: only {len(data)} bytes")
    if not is_cpz(data):
        raise CorruptDataError(f"not a .cpz file (starts with {bytes(data[:4])!r}, expected {MAGIC!r})")
    if len(data) == len(MAGIC):
        raise CorruptDataError(f"truncated .cpz file: only {len(data)} bytes")
    version = data[len(MAGIC)]
    if version != FORMAT_VERSION:
        raise CorruptDataError(
            f".cpz format version {version} is not supported: this convpress reads version {FORMAT_VERSION}"
            + (" (the file was written by a newer convpress; upgrade to read it)" if version > FORMAT_VERSION else "")
        )


def unpack(data: bytes) -> tuple[CpzHeader, list[bytes]]:
    """Parse and verify a ``.cpz`` file: its header and its streams.

    Order of checks: magic, version, the header's structure (every field inside the file, the
    stream count bounded), the stream lengths against the file size, the CRC, and last the field
    values, so a damaged byte is reported as a CRC mismatch rather than as an odd field value.
    """
    data = bytes(data)
    _check_magic_and_version(data)
    reader = _Reader(data)
    reader.take(len(MAGIC) + 1, "magic bytes and version")
    fields = _read_fields(reader)
    count = reader.u8("stream count")
    if count > MAX_STREAMS:
        raise CorruptDataError(f"corrupt .cpz header: {count} streams (at most {MAX_STREAMS})")
    lengths = [reader.varint(f"length of stream {index}") for index in range(count)]
    header_end = reader.position
    (stored_crc,) = struct.unpack("<I", reader.take(4, "file CRC"))
    _check_payload_size(len(data) - reader.position, sum(lengths))
    crc = zlib.crc32(data[reader.position :], zlib.crc32(data[:header_end]))
    if crc != stored_crc:
        raise CorruptDataError(f"corrupt .cpz file: CRC mismatch (stored {stored_crc:08x}, computed {crc:08x})")
    return _header_from_fields(fields), _split_streams(data, reader.position, lengths)


def _read_fields(reader: _Reader) -> dict:
    """The raw header fields between the version and the stream count, as CpzHeader arguments."""
    fields = {"family": reader.u8("model family")}
    fields["model_name"] = reader.take(reader.u8("model name length"), "model name")
    fields["weights_hash"] = reader.take(WEIGHTS_HASH_BYTES, "weights hash")
    fields["quality"] = struct.unpack("<H", reader.take(2, "quality"))[0] / QUALITY_STEPS
    fields["width"] = reader.varint("image width")
    fields["height"] = reader.varint("image height")
    fields["mode"] = reader.u8("image mode")
    fields["tile_size"] = reader.varint("tile size")
    fields["tile_overlap"] = reader.varint("tile overlap")
    fields["symbols_crc"] = struct.unpack("<I", reader.take(4, "symbols checksum"))[0]
    return fields


def _check_payload_size(available: int, needed: int) -> None:
    if available < needed:
        raise CorruptDataError(
            f"truncated .cpz file: the streams need {needed} bytes, only {available} follow the header"
        )
    if available > needed:
        raise CorruptDataError(f"corrupt .cpz file: {available - needed} unexpected bytes after the last stream")


def _split_streams(data: bytes, start: int, lengths: list[int]) -> list[bytes]:
    streams = []
    for length in lengths:
        streams.append(data[start : start + length])
        start += length
    return streams


def _header_from_fields(fields: dict) -> CpzHeader:
    """Build the header from raw field values, turning any out-of-range value into CorruptDataError."""
    if fields["family"] not in ModelFamily._value2member_map_:
        raise CorruptDataError(f"corrupt .cpz header: unknown model family {fields['family']}")
    if fields["mode"] >= len(MODES):
        raise CorruptDataError(f"corrupt .cpz header: unknown image mode code {fields['mode']}")
    fields["mode"] = MODES[fields["mode"]]
    fields["model_name"] = fields["model_name"].decode("ascii", errors="replace")  # refused below if not ASCII
    try:
        return CpzHeader(**fields)
    except ValueError as exc:
        raise CorruptDataError(f"corrupt .cpz header: {exc}") from exc
