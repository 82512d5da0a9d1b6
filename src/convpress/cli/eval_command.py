"""``convpress eval``: rate-distortion evaluation of codecs on a data set.

Writes into ``--out``: ``per_image.json``/``.csv`` (one row per image, codec and quality),
``curves/<codec>.json`` (averaged points in CompressAI's layout), ``rd.png``/``rd.svg`` and
``bd_table.md``/``.csv`` (Bjøntegaard deltas against ``--anchor``).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from convpress import __version__
from convpress.codecs import get_codec
from convpress.errors import ConvpressError, OutputExistsError
from convpress.evaluation.curves import average_rows, load_published
from convpress.evaluation.report import write_report
from convpress.evaluation.sweep import (
    CodecSetting,
    codec_setting,
    find_images,
    load_rows,
    lossy_codec_names,
    run_sweep,
    save_rows,
    sort_rows,
)

DEFAULT_WORKERS = min(2, os.cpu_count() or 1)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="rate-distortion evaluation of codecs on a folder of images",
        description="Run codecs over a quality sweep on every image of a folder; write per-image results, "
        "averaged curves (CompressAI's JSON layout), an RD plot and a BD-rate table.",
    )
    parser.add_argument("--dataset", type=Path, required=True, help="folder of images (e.g. Kodak's 24 PNGs)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the results (created if missing)")
    add_codec_arguments(parser)
    parser.add_argument("--qualities", type=number_list, default=None,
                        help="comma-separated qualities for every lossy codec (default: each codec's own sweep)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help=f"worker processes (default {DEFAULT_WORKERS})")
    parser.add_argument("--anchor", help="curve the BD table compares against: a codec or a published curve's name "
                        "(default: the first codec)")
    parser.add_argument("--published", type=Path, nargs="+", action="extend", default=[], metavar="FILE.json",
                        help="published curves in CompressAI's JSON layout to plot and tabulate")
    parser.add_argument("--max-images", type=int, default=None, help="use only the first N images (sorted by name)")
    parser.add_argument("--no-ms-ssim", action="store_true", help="skip MS-SSIM, the slowest metric")
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true", help="keep the results already in --out, measure only the rest")
    resume.add_argument("--force", "-f", action="store_true", help="discard results already in --out")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_eval)


def add_codec_arguments(parser: argparse.ArgumentParser) -> None:
    """``--codecs`` and ``--option``, shared with ``convpress compare``."""
    parser.add_argument("--codecs", type=name_list, default=None,
                        help="comma-separated codec names (default: every available lossy codec)")
    parser.add_argument("--option", action="append", default=[], metavar="CODEC:KEY=VALUE",
                        help="encoder option for one codec, e.g. jpeg:subsampling=4:4:4 (repeatable)")


def name_list(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated names")
    return list(dict.fromkeys(names))


def number_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def parse_codec_options(specs: Sequence[str], codec_names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``["jpeg:subsampling=4:4:4", "webp:method=6"]`` -> ``{"jpeg": {"subsampling": "4:4:4"}, ...}``.

    Values are read as JSON when they parse (numbers, true/false) and kept as text otherwise.
    """
    options: dict[str, dict[str, Any]] = {}
    for spec in specs:
        codec, _, assignment = spec.partition(":")
        key, equals, value = assignment.partition("=")
        if not (codec and key and equals):
            raise ConvpressError(f"--option {spec!r}: expected CODEC:KEY=VALUE")
        codec = codec.lower()
        if codec not in codec_names:
            raise ConvpressError(f"--option {spec!r}: codec {codec!r} is not among the codecs run ({', '.join(codec_names)})")
        options.setdefault(codec, {})[key] = _option_value(value)
    return options


def _option_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def codec_settings(args: argparse.Namespace) -> list[CodecSetting]:
    names = args.codecs or lossy_codec_names()
    options = parse_codec_options(args.option, names)
    return [codec_setting(name, args.qualities, options.get(name)) for name in names]


def run_eval(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise ConvpressError("--workers must be at least 1")
    images = find_images(args.dataset, args.max_images)
    settings = codec_settings(args)
    published = [load_published(path) for path in args.published]
    args.out.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = args.out / "per_image.json", args.out / "per_image.csv"
    previous = _previous_rows(json_path, args)

    rows = run_sweep(
        images, settings, root=args.dataset, workers=args.workers, with_ms_ssim=not args.no_ms_ssim,
        previous_rows=previous, on_rows=lambda so_far: save_rows(sort_rows(so_far), json_path), progress=not args.quiet,
    )
    save_rows(rows, json_path, csv_path)
    measured = [
        average_rows(codec_rows, s.name, _description(s, args.dataset, len(images)))
        for s in settings
        if (codec_rows := [r for r in rows if r["codec"] == s.name])
    ]
    if not measured:
        raise ConvpressError("no codec could encode any image of the data set")
    report = write_report(args.out, measured, published, args.anchor or measured[0].name, title=args.dataset.name)
    print(report.markdown)
    print(f"results in {args.out}: per_image.json/.csv, curves/, rd.png/.svg, bd_table.md/.csv")
    return 0


def _previous_rows(json_path: Path, args: argparse.Namespace) -> list[dict]:
    if not json_path.exists():
        return []
    if args.resume:
        return load_rows(json_path)
    if args.force:
        return []
    raise OutputExistsError(f"{json_path} exists; use --resume to continue that run or --force to start over")


def _description(setting: CodecSetting, dataset: Path, image_count: int) -> str:
    options = f", options {setting.options_json}" if setting.options else ""
    return f"{get_codec(setting.name).description}{options}; {dataset.name} ({image_count} images), convpress {__version__}"
