"""``convpress info FILE``: what a ``.cpz`` file holds, field by field, and where its bytes go."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from convpress.coding.container import FORMAT_VERSION, CpzHeader, unpack
from convpress.errors import ConvpressError


def register(subparsers: argparse._SubParsersAction) -> None:
    info = subparsers.add_parser(
        "info",
        help="show the header and stream sizes of a .cpz file",
        description="Show every header field of a .cpz file, its stream sizes, header overhead and bit rate.",
    )
    info.add_argument("input", type=Path, help=".cpz file")
    info.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    info.set_defaults(handler=run_info)


def describe(header: CpzHeader, stream_sizes: list[int], file_size: int) -> dict:
    """The facts ``info`` reports, as JSON-ready values."""
    overhead = file_size - sum(stream_sizes)
    return {
        "format_version": FORMAT_VERSION,
        "model_family": header.family.name.lower(),
        "model_name": header.model_name,
        "weights_hash": header.weights_hash.hex(),
        "quality": header.quality,
        "width": header.width,
        "height": header.height,
        "mode": header.mode,
        "tile_size": header.tile_size,
        "tile_overlap": header.tile_overlap,
        "symbols_crc": f"{header.symbols_crc:08x}",
        "stream_sizes": stream_sizes,
        "header_bytes": overhead,
        "file_bytes": file_size,
        "bpp": 8 * file_size / header.pixels,
        "header_bpp": 8 * overhead / header.pixels,
    }


def _as_text(facts: dict) -> str:
    tiling = f"{facts['tile_size']} px tiles, {facts['tile_overlap']} px overlap" if facts["tile_size"] else "untiled"
    lines = [
        f"format version  {facts['format_version']}",
        f"model           {facts['model_name'] or '(unnamed)'} ({facts['model_family'].replace('_', ' ')})",
        f"weights hash    {facts['weights_hash']}",
        f"quality         {facts['quality']:.2f}",
        f"image           {facts['width']}x{facts['height']} {facts['mode']}",
        f"tiling          {tiling}",
        f"symbols CRC32   {facts['symbols_crc']}",
        f"streams         {len(facts['stream_sizes'])}: "
        + (", ".join(f"{size} B" for size in facts["stream_sizes"]) or "none"),
        f"header          {facts['header_bytes']} B ({facts['header_bpp']:.5f} bpp)",
        f"file            {facts['file_bytes']} B, {facts['bpp']:.4f} bpp",
    ]
    return "\n".join(lines)


def run_info(args: argparse.Namespace) -> int:
    try:
        data = args.input.read_bytes()
    except OSError as exc:
        raise ConvpressError(f"cannot read {args.input}: {exc.strerror}") from exc
    try:
        header, streams = unpack(data)
    except ConvpressError as exc:
        raise type(exc)(f"{args.input}: {exc}") from exc
    facts = describe(header, [len(stream) for stream in streams], len(data))
    print(json.dumps(facts, indent=2) if args.json else _as_text(facts))
    return 0
