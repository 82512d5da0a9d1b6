"""``convpress encode``, ``convpress decode`` and ``convpress codecs``."""

from __future__ import annotations

import argparse
from pathlib import Path

from convpress.codecs import DEFAULT_QUALITY, codec_for_data, codec_for_extension, codec_names, get_codec
from convpress.errors import ConvpressError, CorruptDataError
from convpress.imageio import encode_png, open_image, write_atomic


def register(subparsers: argparse._SubParsersAction) -> None:
    encode = subparsers.add_parser("encode", help="compress an image", description="Compress an image with any codec.")
    encode.add_argument("input", type=Path, help="image to compress (PNG, JPEG, TIFF, ...)")
    encode.add_argument("output", type=Path, help="compressed file to write")
    encode.add_argument("--codec", help="codec name (default: inferred from the output extension)")
    encode.add_argument("--quality", "-q", type=float, default=None, help=f"1-100 (default {DEFAULT_QUALITY:g})")
    encode.add_argument("--lossless", action="store_true", help="lossless mode, where the codec has one")
    encode.add_argument("--force", "-f", action="store_true", help="overwrite an existing output")
    encode.set_defaults(handler=run_encode)

    decode = subparsers.add_parser("decode", help="decompress a file to an image", description="Decompress any supported file.")
    decode.add_argument("input", type=Path, help="compressed file")
    decode.add_argument("output", type=Path, help="image to write (format from the extension, PNG recommended)")
    decode.add_argument("--force", "-f", action="store_true", help="overwrite an existing output")
    decode.set_defaults(handler=run_decode)

    listing = subparsers.add_parser("codecs", help="list the available codecs")
    listing.set_defaults(handler=run_list_codecs)


def run_encode(args: argparse.Namespace) -> int:
    if args.output.exists() and not args.force:
        raise ConvpressError(f"{args.output} exists; use --force to overwrite it")
    codec = get_codec(args.codec) if args.codec else codec_for_extension(args.output)
    if codec is None:
        raise ConvpressError(f"cannot infer a codec from {args.output.name!r}; pass --codec (one of {', '.join(codec_names())})")
    image = open_image(args.input)
    options = {"lossless": True} if args.lossless else {}
    if args.lossless and not codec.lossless:
        raise ConvpressError(f"{codec.name} has no lossless mode")
    quality = DEFAULT_QUALITY if args.quality is None else args.quality
    data = codec.encode(image, quality=quality, **options)
    write_atomic(args.output, data, force=args.force)
    bpp = 8 * len(data) / (image.width * image.height)
    print(f"{args.output}: {codec.name}, {len(data)} bytes, {bpp:.4f} bpp, {image.width}x{image.height} {image.mode}")
    return 0


def run_decode(args: argparse.Namespace) -> int:
    if args.output.exists() and not args.force:
        raise ConvpressError(f"{args.output} exists; use --force to overwrite it")
    try:
        data = args.input.read_bytes()
    except OSError as exc:
        raise ConvpressError(f"cannot read {args.input}: {exc.strerror}") from exc
    codec = codec_for_data(data) or codec_for_extension(args.input)
    if codec is None:
        raise CorruptDataError(f"{args.input}: not a file of any supported format")
    image = codec.decode(data)
    suffix = args.output.suffix.lower()
    if suffix in ("", ".png"):
        payload = encode_png(image)
    else:
        writer = codec_for_extension(args.output)
        if writer is None or writer.lossy:
            raise ConvpressError(f"decode writes lossless images: use a .png output, not {suffix!r}")
        payload = writer.encode(image, lossless=True)
    write_atomic(args.output, payload, force=args.force)
    print(f"{args.output}: {image.width}x{image.height} {image.mode} (from {codec.name})")
    return 0


def run_list_codecs(args: argparse.Namespace) -> int:
    for name in codec_names():
        codec = get_codec(name)
        kind = "lossy" + ("+lossless" if codec.lossless else "") if codec.lossy else "lossless"
        print(f"{name:10s} {kind:15s} {' '.join(codec.extensions):20s} {codec.description}")
    return 0
