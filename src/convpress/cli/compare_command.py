"""``convpress compare``: one image through every codec, side by side.

Writes into ``--out``: each codec's compressed file and decoded PNG, ``comparison.json`` (the
printed table) and ``crops.png`` (the same crop of the original and of every decoded image).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path

from convpress.cli.eval_command import add_codec_arguments, parse_codec_options
from convpress.codecs import DEFAULT_QUALITY, get_codec
from convpress.errors import ConvpressError, OutputExistsError
from convpress.evaluation.compare import Comparison, compare_codecs
from convpress.evaluation.curves import json_number
from convpress.evaluation.plots import center_crop_box, plot_crops
from convpress.evaluation.sweep import lossy_codec_names
from convpress.imageio import encode_png, open_image, write_atomic

SAMPLE_IMAGE = "grace_hopper.jpg"
"""Matplotlib's bundled sample photo, present wherever convpress is installed (itself a JPEG)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compress one image with every codec and compare",
        description="Compress one image with each codec at the same quality or, fairer, at the same size "
        "(--target-bpp), print a table and write the files and a side-by-side crop figure.",
    )
    parser.add_argument("image", type=Path, nargs="?", help="image to compress")
    parser.add_argument("--sample", action="store_true", help=f"use matplotlib's sample photo ({SAMPLE_IMAGE}) as the image")
    parser.add_argument("--out", type=Path, required=True, help="folder for the files (created if missing)")
    add_codec_arguments(parser)
    setting = parser.add_mutually_exclusive_group()
    setting.add_argument("--quality", "-q", type=float, default=None, help=f"the same quality for every codec (default {DEFAULT_QUALITY:g})")
    setting.add_argument("--target-bpp", type=float, default=None,
                         help="search each codec's quality for the file size closest to this many bits per pixel")
    parser.add_argument("--repeats", type=int, default=3, help="time each encode and decode this many times, keep the fastest (default 3)")
    parser.add_argument("--force", "-f", action="store_true", help="overwrite existing files in --out")
    parser.set_defaults(handler=run_compare)


def sample_image_path() -> Path:
    from matplotlib import cbook

    return Path(cbook.get_sample_data(SAMPLE_IMAGE, asfileobj=False))


def run_compare(args: argparse.Namespace) -> int:
    if (args.image is None) == (not args.sample):
        raise ConvpressError("give an IMAGE or --sample (not both)")
    if args.repeats < 1:
        raise ConvpressError("--repeats must be at least 1")
    path = sample_image_path() if args.sample else args.image
    image = open_image(path)
    names = args.codecs or _codecs_for(image.mode)
    options = parse_codec_options(args.option, names)
    quality = DEFAULT_QUALITY if args.quality is None and args.target_bpp is None else args.quality
    results = compare_codecs(image, names, quality=quality, target_bpp=args.target_bpp, options=options, repeats=args.repeats)

    table = {
        "image": str(path), "width": image.width, "height": image.height, "mode": image.mode,
        "target_bpp": args.target_bpp, "results": [_json_row(r) for r in results],
    }
    files = {args.out / "comparison.json": (json.dumps(table, indent=2) + "\n").encode()}
    for result in results:
        files[args.out / f"{path.stem}.{result.codec}{result.extension}"] = result.data
        files[args.out / f"{path.stem}.{result.codec}.png"] = encode_png(result.decoded)
    crops_path = args.out / "crops.png"
    existing = [p for p in (*files, crops_path) if p.exists()]
    if existing and not args.force:
        raise OutputExistsError(f"{existing[0]} exists; use --force to overwrite it")
    args.out.mkdir(parents=True, exist_ok=True)
    for file_path, payload in files.items():
        write_atomic(file_path, payload, force=True)
    panels = [("original", image)] + [(_panel_label(r), r.decoded) for r in results]
    plot_crops(panels, crops_path, center_crop_box(image.size))
    print(f"{path.name}: {image.width}x{image.height} {image.mode}")
    print(format_table(results))
    print(f"files in {args.out}: compressed and decoded images, comparison.json, crops.png")
    return 0


def _codecs_for(mode: str) -> list[str]:
    """The lossy codecs that can store an image of this mode (JPEG, for one, has no alpha)."""
    names = [name for name in lossy_codec_names() if mode in get_codec(name).modes]
    if not names:
        raise ConvpressError(f"no available lossy codec can store {mode} images")
    return names


def _json_row(result: Comparison) -> dict:
    return {key: json_number(value) for key, value in result.table_row().items()}


def _panel_label(result: Comparison) -> str:
    quality = "lossless" if result.quality is None else f"q={result.quality:g}"
    return f"{result.codec} {quality}\n{result.bpp:.3f} bpp, {result.psnr_rgb:.2f} dB"


def format_table(results: Sequence[Comparison]) -> str:
    """The comparison as an aligned text table."""
    header = ("codec", "quality", "bytes", "bpp", "PSNR dB", "MS-SSIM", "enc ms", "dec ms")
    lines = [header]
    for r in results:
        lines.append((
            r.codec,
            "lossless" if r.quality is None else f"{r.quality:g}",
            str(len(r.data)),
            f"{r.bpp:.4f}",
            f"{r.psnr_rgb:.2f}",
            "n/a" if math.isnan(r.ms_ssim) else f"{r.ms_ssim:.4f}",
            f"{r.encode_ms:.1f}",
            f"{r.decode_ms:.1f}",
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
        for line in lines
    )
