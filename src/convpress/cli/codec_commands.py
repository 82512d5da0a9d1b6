"""``convpress encode``, ``convpress decode`` and ``convpress codecs``.

The commands know no codec by name: the codec comes from ``--codec``, the output extension or the
input's magic bytes, and codec settings pass through as ``--option key=value`` text that the codec
itself validates (see :class:`convpress.codecs.base.CodecOption`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from convpress.codecs import DEFAULT_QUALITY, Codec, codec_for_data, codec_for_extension, codec_names, get_codec
from convpress.codecs.targets import encode_to_target, parse_size
from convpress.errors import ConvpressError, CorruptDataError, InvalidParameterError, OutputExistsError
from convpress.imageio import open_image, write_atomic

DECODE_DEFAULT_CODEC = "png"
"""Codec that writes decoded images when the output has no extension."""


def register(subparsers: argparse._SubParsersAction) -> None:
    encode = subparsers.add_parser(
        "encode",
        help="compress an image",
        description="Compress an image with any codec; see `convpress codecs` for codecs and their options.",
    )
    encode.add_argument("input", type=Path, help="image to compress (PNG, JPEG, TIFF, ...)")
    encode.add_argument("output", type=Path, help="compressed file to write")
    encode.add_argument("--codec", "-c", help="codec name (default: inferred from the output extension)")
    encode.add_argument("--quality", "-q", type=float, default=None, help=f"1-100 (default {DEFAULT_QUALITY:g})")
    encode.add_argument("--lossless", action="store_true", help="lossless mode, where the codec has one")
    encode.add_argument(
        "--option",
        "-o",
        dest="options",
        action="append",
        type=parse_option,
        default=[],
        metavar="KEY=VALUE",
        help="codec-specific setting, e.g. subsampling=4:4:4 or speed=4 (repeatable)",
    )
    targets = encode.add_mutually_exclusive_group()
    targets.add_argument("--target-bpp", type=float, metavar="BPP", help="search the quality for this many bits per pixel")
    targets.add_argument("--target-size", metavar="SIZE", help="search the quality for this file size (e.g. 40KB, 1.5MB, 12000)")
    targets.add_argument("--target-psnr", type=float, metavar="DB", help="search the quality for this PSNR")
    encode.add_argument("--force", "-f", action="store_true", help="overwrite an existing output")
    encode.set_defaults(handler=run_encode)

    decode = subparsers.add_parser(
        "decode", help="decompress a file to an image", description="Decompress a file of any supported format."
    )
    decode.add_argument(
        "input", type=Path, help="compressed file (format found from its content, else from its extension)"
    )
    decode.add_argument(
        "output", type=Path, help="image to write, in a lossless format chosen by the extension (PNG recommended)"
    )
    decode.add_argument("--model", help="model file (.safetensors) to decode with, for codecs that take a model")
    decode.add_argument("--force", "-f", action="store_true", help="overwrite an existing output")
    decode.add_argument("--enhance", action="store_true", help="remove JPEG artifacts with the deblocking CNN (JPEG input only)")
    decode.set_defaults(handler=run_decode)

    listing = subparsers.add_parser("codecs", help="list the available codecs and their options")
    listing.set_defaults(handler=run_list_codecs)


def parse_option(text: str) -> tuple[str, str]:
    """argparse type for ``--option``: ``"key=value"`` -> ``("key", "value")``."""
    key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def collect_options(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The ``--option`` pairs as a dict; an option given twice is refused rather than guessed at."""
    options: dict[str, str] = {}
    for key, value in pairs:
        if key in options:
            raise InvalidParameterError(f"option {key} given more than once")
        options[key] = value
    return options


def refuse_existing(path: Path, force: bool) -> None:
    """Fail before any work is done when the output exists and may not be replaced."""
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists; use --force to overwrite it")


def write_output(path: Path, data: bytes, force: bool) -> None:
    """Write atomically, reporting file-system failures as user errors instead of tracebacks."""
    try:
        write_atomic(path, data, force=force)
    except OSError as exc:
        raise ConvpressError(f"cannot write {path}: {exc.strerror or exc}") from exc


def encoder_for(args: argparse.Namespace) -> Codec:
    """The codec named by ``--codec``, else the one that writes the output's extension."""
    if args.codec:
        return get_codec(args.codec)
    codec = codec_for_extension(args.output)
    if codec is None:
        raise ConvpressError(
            f"cannot infer a codec from {args.output.name!r}; pass --codec (one of {', '.join(codec_names())})"
        )
    return codec


def encode_settings(args: argparse.Namespace, codec: Codec) -> dict:
    """Keyword arguments for ``codec.encode``, refusing contradictory requests up front."""
    if args.lossless and not codec.lossless:
        raise InvalidParameterError(f"{codec.name} has no lossless mode")
    lossless = args.lossless or not codec.lossy
    if lossless and args.quality is not None:
        reason = "is lossless only" if not codec.lossy else "ignores quality in lossless mode"
        raise InvalidParameterError(f"{codec.name} {reason}; drop --quality")
    settings = collect_options(args.options)
    if args.lossless:
        settings["lossless"] = True
    if not lossless:
        settings["quality"] = DEFAULT_QUALITY if args.quality is None else args.quality
    return settings


def run_encode(args: argparse.Namespace) -> int:
    refuse_existing(args.output, args.force)
    codec = encoder_for(args)
    settings = encode_settings(args, codec)
    target = target_settings(args)
    image = open_image(args.input)
    note = ""
    if target:
        if "quality" in settings and args.quality is not None or args.lossless:
            raise InvalidParameterError("a --target-* search chooses the quality: drop --quality / --lossless")
        settings.pop("quality", None)
        result = encode_to_target(codec, image, **target, **settings)
        data = result.data
        note = f", quality {result.quality:g}"
        if not result.reached:
            print(f"convpress: warning: target not reachable with {codec.name}; closest: {result.achieved:.4g}", file=sys.stderr)
    else:
        data = codec.encode(image, **settings)
    write_output(args.output, data, args.force)
    bpp = 8 * len(data) / (image.width * image.height)
    print(f"{args.output}: {codec.name}{note}, {len(data)} bytes, {bpp:.4f} bpp, {image.width}x{image.height} {image.mode}")
    return 0


def target_settings(args: argparse.Namespace) -> dict:
    """The one ``--target-*`` given, as keyword arguments for :func:`encode_to_target`."""
    if args.target_bpp is not None:
        return {"target_bpp": args.target_bpp}
    if args.target_size is not None:
        return {"target_size": parse_size(args.target_size)}
    if args.target_psnr is not None:
        return {"target_psnr": args.target_psnr}
    return {}


def decoded_image_writer(output: Path) -> Codec:
    """The lossless codec that writes the decoded image, chosen by the output extension."""
    if not output.suffix:
        return get_codec(DECODE_DEFAULT_CODEC)
    writer = codec_for_extension(output)
    if writer is None or not writer.lossless:
        raise ConvpressError(f"decode writes lossless images: use a .png output, not {output.suffix!r}")
    return writer


def run_decode(args: argparse.Namespace) -> int:
    refuse_existing(args.output, args.force)
    writer = decoded_image_writer(args.output)
    try:
        data = args.input.read_bytes()
    except OSError as exc:
        raise ConvpressError(f"cannot read {args.input}: {exc.strerror or exc}") from exc
    codec = codec_for_data(data) or codec_for_extension(args.input)
    if codec is None:
        raise CorruptDataError(f"{args.input}: not a file of any supported format")
    if args.model:
        if "model" not in {option.name for option in codec.options}:
            raise InvalidParameterError(f"{codec.name} files take no --model")
        codec = type(codec)(model=args.model)
    if args.enhance and codec.name != "jpeg":
        raise ConvpressError(f"--enhance removes JPEG artifacts; {args.input} is {codec.name}, not JPEG")
    image = codec.decode(data)
    if args.enhance:
        from convpress.restoration.api import deblock, jpeg_quality_of

        image = deblock(image, quality=jpeg_quality_of(data))
    write_output(args.output, writer.encode(image, lossless=True), args.force)
    print(f"{args.output}: {image.width}x{image.height} {image.mode} (from {codec.name})")
    return 0


def run_list_codecs(args: argparse.Namespace) -> int:
    for name in codec_names():
        codec = get_codec(name)
        kind = "lossy" + ("+lossless" if codec.lossless else "") if codec.lossy else "lossless"
        print(f"{name:10s} {kind:15s} {' '.join(codec.extensions):20s} {codec.description}")
        for option in codec.options:
            print(f"{'':10s} --option {option.describe()}")
    return 0
