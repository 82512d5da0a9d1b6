"""``convpress denoise``, ``deblock``, ``train-restore`` and ``export-restore``."""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from convpress.cli.codec_commands import decoded_image_writer, refuse_existing, write_output
from convpress.codecs.jpeg import JpegCodec
from convpress.errors import ConvpressError
from convpress.cli.train_command import add_training_arguments, stop_on_sigterm, training_config

DEFAULT_STEPS = 20_000


def register(subparsers: argparse._SubParsersAction) -> None:
    denoise = subparsers.add_parser(
        "denoise", help="remove Gaussian noise with a CNN",
        description="Remove white Gaussian noise from a gray or colour image. Blind by default (the noise level is "
        "estimated from the image); --sigma gives it (0-75, on the 0-255 scale).",
    )
    _add_io_arguments(denoise)
    denoise.add_argument("--sigma", type=float, help="noise standard deviation, 0-75 (default: estimated)")
    denoise.set_defaults(handler=run_denoise)

    deblock = subparsers.add_parser(
        "deblock", help="remove JPEG compression artifacts with a CNN",
        description="Remove blocking and ringing from a JPEG (gray or colour, any quality). The quality is read from "
        "the JPEG's quantization tables unless --quality overrides it.",
    )
    _add_io_arguments(deblock)
    deblock.add_argument("--quality", type=float, help="JPEG quality 1-100 (default: from the file's tables)")
    deblock.set_defaults(handler=run_deblock)

    train = subparsers.add_parser(
        "train-restore", help="train a denoising or JPEG-deblocking network",
        description="Train one restoration network (gray and colour, every noise level or JPEG quality) on folders "
        "of clean images; degradations are synthesised on the fly. Checkpoints go to RUNS_DIR/NAME every few "
        "minutes; --resume continues a run exactly.",
    )
    train.add_argument("--task", choices=("denoise", "deblock"), required=True)
    train.add_argument("--preset", default="restore-unet", help="architecture preset (restore-unet, restore-tiny)")
    train.add_argument("--gray-fraction", type=float, default=0.1, help="share of colour crops turned gray")
    add_training_arguments(train, steps=None, batch_size=16, final_crop=160, lr=1e-3, lr_milestones=[0.7, 0.9], downscale=1.5,
                           steps_help=f"training steps (default {DEFAULT_STEPS}); with --resume: a new length for the run")
    train.set_defaults(handler=run_train_restore)

    export = subparsers.add_parser(
        "export-restore", help="write a restoration checkpoint as a shipped weights file",
        description="Convert a train-restore checkpoint to float16 safetensors (task, architecture and training facts "
        "in its metadata), e.g. to src/convpress/weights/restore-denoise.safetensors.",
    )
    export.add_argument("checkpoint", type=Path, help="runs/NAME/checkpoint.pt")
    export.add_argument("output", type=Path, help="weights file to write (.safetensors)")
    export.add_argument("--force", "-f", action="store_true", help="overwrite an existing output")
    export.set_defaults(handler=run_export_restore)


def _add_io_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="image to restore")
    parser.add_argument("output", type=Path, help="restored image, in a lossless format chosen by the extension (PNG)")
    parser.add_argument("--weights", type=Path, help="weights file (default: the shipped one)")
    parser.add_argument("--force", "-f", action="store_true", help="overwrite an existing output")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConvpressError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _write(args: argparse.Namespace, image: Image.Image, note: str) -> int:
    write_output(args.output, decoded_image_writer(args.output).encode(image, lossless=True), args.force)
    print(f"{args.output}: {image.width}x{image.height} {image.mode}, {note}")
    return 0


def run_denoise(args: argparse.Namespace) -> int:
    from convpress.restoration.api import denoise, noise_sigma_of
    from convpress.restoration.degradations import check_sigma

    refuse_existing(args.output, args.force)
    decoded_image_writer(args.output)
    sigma = None if args.sigma is None else check_sigma(args.sigma)
    data = _read(args.input)
    if sigma is None:
        sigma = noise_sigma_of(data)
    image = denoise(data, sigma=sigma, weights=args.weights)
    return _write(args, image, f"sigma {sigma:.3g}" + (" (estimated)" if args.sigma is None else ""))


def run_deblock(args: argparse.Namespace) -> int:
    from convpress.restoration.api import deblock, jpeg_quality_of

    refuse_existing(args.output, args.force)
    decoded_image_writer(args.output)
    data = _read(args.input)
    if not JpegCodec.sniff(data):
        raise ConvpressError(f"{args.input}: not a JPEG file; deblock removes JPEG artifacts")
    quality = jpeg_quality_of(data) if args.quality is None else args.quality
    image = deblock(data, quality=quality, weights=args.weights)
    return _write(args, image, f"JPEG quality {quality:g}" + (" (from the file)" if args.quality is None else ""))


def run_export_restore(args: argparse.Namespace) -> int:
    from convpress.training.restore import export_restoration

    refuse_existing(args.output, args.force)
    export_restoration(args.checkpoint, args.output)
    print(f"{args.output}: written from {args.checkpoint}")
    return 0


def run_train_restore(args: argparse.Namespace) -> int:
    from convpress.training.restore import train_restore

    stop_on_sigterm()
    config = training_config(args, DEFAULT_STEPS if args.steps is None else args.steps)
    train_restore(config, args.data, args.task, args.preset, args.runs_dir, args.resume, downscale=args.downscale,
                  gray_fraction=args.gray_fraction, time_limit_minutes=args.time_limit,
                  resume_steps=args.steps if args.resume else None, init_from=args.init_from)
    return 0
