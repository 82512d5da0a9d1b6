"""``convpress info``: text and JSON reports of a .cpz file, and clean failures on bad files."""

from __future__ import annotations

import json

import pytest

from convpress.cli import main
from convpress.coding.container import CpzHeader, ModelFamily, pack

HEADER = CpzHeader(
    family=ModelFamily.OVERFITTED,
    model_name="cool-chic",
    weights_hash=bytes.fromhex("0011223344556677"),
    quality=42.25,
    width=768,
    height=512,
    mode="RGBA",
    symbols_crc=0xCAFEF00D,
    tile_size=256,
    tile_overlap=16,
)
STREAMS = [b"w" * 300, b"z" * 4000]


@pytest.fixture
def cpz_file(tmp_path):
    path = tmp_path / "image.cpz"
    path.write_bytes(pack(HEADER, STREAMS))
    return path


def test_json_report(cpz_file, capsys):
    assert main(["info", str(cpz_file), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    file_bytes = cpz_file.stat().st_size
    assert facts == {
        "format_version": 2,
        "model_family": "overfitted",
        "model_name": "cool-chic",
        "weights_hash": "0011223344556677",
        "quality": 42.25,
        "width": 768,
        "height": 512,
        "mode": "RGBA",
        "tile_size": 256,
        "tile_overlap": 16,
        "symbols_crc": "cafef00d",
        "stream_sizes": [300, 4000],
        "header_bytes": file_bytes - 4300,
        "file_bytes": file_bytes,
        "bpp": pytest.approx(8 * file_bytes / (768 * 512)),
        "header_bpp": pytest.approx(8 * (file_bytes - 4300) / (768 * 512)),
    }
    # 33 bytes for 768x512 untiled, +1 for the 2-byte tile size varint, 2 bytes per stream length
    assert facts["header_bytes"] == 33 + len("cool-chic") + 1 + 2 + 2


def test_text_report(cpz_file, capsys):
    assert main(["info", str(cpz_file)]) == 0
    out = capsys.readouterr().out
    for line in (
        "format version  2",
        "model           cool-chic (overfitted)",
        "weights hash    0011223344556677",
        "quality         42.25",
        "image           768x512 RGBA",
        "tiling          256 px tiles, 16 px overlap",
        "symbols CRC32   cafef00d",
        "streams         2: 300 B, 4000 B",
        "header          47 B (0.00096 bpp)",
        "file            4347 B, 0.0884 bpp",
    ):
        assert line in out.splitlines()


def test_corrupt_file_exits_2_with_a_message(cpz_file, capsys):
    data = bytearray(cpz_file.read_bytes())
    data[-1] ^= 1
    cpz_file.write_bytes(bytes(data))
    assert main(["info", str(cpz_file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"convpress: error: {cpz_file}: corrupt .cpz file: CRC mismatch")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x89PNG\r\n\x1a\n....", "not a .cpz file"), (b"\x89CPZ", "truncated .cpz file")],
)
def test_other_files_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "other.cpz"
    path.write_bytes(content)
    assert main(["info", str(path), "--json"]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "absent.cpz")]) == 2
    assert "cannot read" in capsys.readouterr().err
