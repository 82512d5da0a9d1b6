"""``convpress train``: train (or resume) a learned codec on image folders."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from convpress.errors import ConvpressError
from convpress.training.loop import TrainConfig
from convpress.zoo import DEFAULT_MODEL, PRESETS

DEFAULT_STEPS = 100_000


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a learned codec",
        description="Train one variable-rate network for all rates on folders of images. "
        "Checkpoints go to RUNS_DIR/NAME every few minutes; --resume continues a run exactly.",
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(PRESETS), help="architecture preset")
    parser.add_argument("--metric", choices=("mse", "ms-ssim"), default="mse")
    parser.add_argument("--rate-proxy", choices=("noise", "rounded"), default="noise",
                        help="latents the rate is measured on: with uniform noise (from scratch) or rounded, as "
                        "coded (fine-tuning: noise overstates low rates by ~40%%)")
    parser.add_argument("--widths", type=int, nargs=3, metavar=("W1", "W2", "W3"),
                        help="transform widths at 1/2, 1/4 and 1/8 resolution (default: the preset's)")
    parser.add_argument("--latent", type=int, help="latent channels (default: the preset's)")
    parser.add_argument("--lambdas", type=float, nargs="+", metavar="LAMBDA",
                        help="the rates to train, increasing (default: the preset's eight, 0.0018 to 0.18)")
    parser.add_argument("--grow", action="store_true",
                        help="--init-from holds a smaller network (narrower, or for fewer rates): grow it so it "
                        "computes the same at its old rates, then train")
    add_training_arguments(parser, steps=None, batch_size=8, final_crop=256, lr=5e-4, lr_milestones=[0.8, 0.95], downscale=2.0,
                           steps_help=f"training steps (default {DEFAULT_STEPS}); with --resume: a new length for the run")
    parser.add_argument("--val-data", type=Path, help="folder of validation images (e.g. Kodak), for monitoring only")
    parser.add_argument("--validate-every", type=int, default=1000)
    parser.set_defaults(handler=run_train)


def add_training_arguments(
    parser: argparse.ArgumentParser, steps: int | None, batch_size: int, final_crop: int, lr: float,
    lr_milestones: list[float], downscale: float, steps_help: str | None = None,
) -> None:
    """The options every training command shares (``train``, ``train-restore``), with its own defaults."""
    parser.add_argument("--data", nargs="+", required=True, help="training image folders")
    parser.add_argument("--name", required=True, help="run name (folder under --runs-dir)")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    parser.add_argument("--resume", action="store_true", help="continue the run's checkpoint (its stored settings win)")
    parser.add_argument("--init-from", type=Path, help="start from these weights (a checkpoint or a .safetensors file): fine-tuning")
    parser.add_argument("--steps", type=int, default=steps, help=steps_help)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--final-crop", type=int, default=final_crop, help="crop size of the last --final-fraction of steps")
    parser.add_argument("--final-fraction", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--lr-milestones", type=float, nargs="*", default=lr_milestones, help="fractions of --steps where lr drops 10x")
    parser.add_argument("--downscale", type=float, default=downscale, help="random down-scaling of images before cropping (max factor)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-bf16", action="store_true", help="train the convolutions in float32 (slower)")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, metavar="MINUTES", help="checkpoint and stop after this much wall time (resume later)")


def training_config(args: argparse.Namespace, steps: int, **extra) -> TrainConfig:
    """The run's settings from the shared options; ``extra`` (plus data, init-from, command) is stored with it."""
    return TrainConfig(
        name=args.name, steps=steps, batch_size=args.batch_size, crop=args.crop, final_crop=args.final_crop,
        final_fraction=args.final_fraction, lr=args.lr, lr_milestones=list(args.lr_milestones),
        checkpoint_minutes=args.checkpoint_minutes, seed=args.seed, threads=args.threads, bf16=not args.no_bf16,
        extra={**extra, "data": [str(d) for d in args.data], "init_from": str(args.init_from) if args.init_from else None,
               "command": " ".join(["convpress", *sys.argv[1:]])},
    )


def stop_on_sigterm() -> None:
    """Make ``kill`` behave like Ctrl-C, so the trainer writes a checkpoint before exiting."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run_train(args: argparse.Namespace) -> int:
    from convpress.training.codec import train_codec
    from convpress.training.distributed import exit_worker, is_distributed_worker

    stop_on_sigterm()
    if args.grow and args.init_from is None:
        raise ConvpressError("--grow needs --init-from (the smaller weights to start from)")
    if args.lambdas and any(b <= a for a, b in zip(args.lambdas, args.lambdas[1:])):
        raise ConvpressError("--lambdas must increase")
    architecture = {key: value for key, value in (("widths", args.widths), ("latent", args.latent), ("lambdas", args.lambdas))
                    if value is not None}
    config = training_config(args, DEFAULT_STEPS if args.steps is None else args.steps, model=args.model)
    train_codec(
        config, args.data, args.model, args.runs_dir, args.resume, metric=args.metric, rate_proxy=args.rate_proxy,
        init_from=args.init_from, grow=args.grow, architecture=architecture,
        validation_folder=args.val_data, validate_every=args.validate_every, downscale=args.downscale,
        time_limit_minutes=args.time_limit, resume_steps=args.steps if args.resume else None,
    )
    if is_distributed_worker():
        exit_worker(0)
    return 0
