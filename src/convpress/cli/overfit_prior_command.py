"""``convpress train-overfit-prior``: train the overfit encoder's starting networks on image folders."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from convpress.cli.codec_commands import refuse_existing, write_output
from convpress.cli.train_command import stop_on_sigterm
from convpress.errors import ConvpressError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-overfit-prior", help="train the starting networks of the overfit codec's encoder",
        description="Train one set of overfit-codec networks on random crops of folders of images (each crop with its "
        "own latents, all sharing the networks), spread over a range of qualities. The encoder starts every fit from "
        "them and codes its networks relative to them (src/convpress/weights/overfit-prior.safetensors is the shipped "
        "one; files coded against a prior need it to decode). A run "
        "takes minutes (16 crops of 256x256 for 1000 iterations: about 15 CPU-minutes); interrupting it writes nothing.",
    )
    parser.add_argument("--data", nargs="+", type=Path, required=True, help="training image folders")
    parser.add_argument("--out", type=Path, required=True, help="prior file to write (.safetensors)")
    parser.add_argument("--crops", type=int, default=16, help="number of random crops (one image each while images last)")
    parser.add_argument("--crop", type=int, default=256, help="crop side in pixels")
    parser.add_argument("--qualities", type=float, nargs="+", default=[30.0, 50.0, 70.0, 90.0],
                        help="qualities (1-100) the crops are trained at, in turn")
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--arm-hidden", type=int, default=16,
                        help="hidden width of the probability model (ARM) the prior is for (the codec's -o arm=N)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--force", "-f", action="store_true", help="overwrite an existing output")
    parser.set_defaults(handler=run_train_overfit_prior)


def run_train_overfit_prior(args: argparse.Namespace) -> int:
    from convpress.overfit.bitstream import MAX_WIDTH
    from convpress.training.overfit_prior import train_prior_from_folders

    if args.crops < 1 or args.crop < 16 or args.iterations < 1 or args.threads < 1:
        raise ConvpressError("--crops, --iterations and --threads must be positive and --crop at least 16")
    if not 1 <= args.arm_hidden <= MAX_WIDTH:
        raise ConvpressError(f"--arm-hidden must lie in 1-{MAX_WIDTH}")
    if any(not 1 <= quality <= 100 for quality in args.qualities):
        raise ConvpressError("--qualities must lie in 1-100")
    refuse_existing(args.out, args.force)
    stop_on_sigterm()
    data, record = train_prior_from_folders(
        args.data, crops=args.crops, crop=args.crop, qualities=args.qualities, iterations=args.iterations,
        seed=args.seed, threads=args.threads, command=" ".join(["convpress", *sys.argv[1:]]), arm_hidden=args.arm_hidden,
    )
    write_output(args.out, data, args.force)
    print(f"{args.out}: {json.dumps(record)}")
    return 0
