"""``convpress export``: turn a training checkpoint into a shipped model file and its model card."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from convpress.errors import ConvpressError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="export a checkpoint as a model file (safetensors + integer coding tables)",
        description="Write NAME.safetensors (fp16 weights, integer CDF tables, architecture) and a model card "
        "NAME.md with the run's command, data, steps and time; append the benchmark's Kodak results to the card.",
    )
    parser.add_argument("checkpoint", type=Path, help="runs/NAME/checkpoint.pt")
    parser.add_argument("--name", required=True, help="model name stored in the file and in .cpz headers")
    parser.add_argument("--out-dir", type=Path, default=Path("src/convpress/weights"))
    parser.add_argument("--force", "-f", action="store_true", help="replace existing files")
    parser.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    from convpress.training.export import export_checkpoint

    if not args.checkpoint.is_file():
        raise ConvpressError(f"no checkpoint at {args.checkpoint}")
    output = args.out_dir / f"{args.name}.safetensors"
    if output.exists() and not args.force:
        raise ConvpressError(f"{output} exists; use --force to replace it")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    info = export_checkpoint(args.checkpoint, output, args.name)
    card = args.out_dir / f"{args.name}.md"
    card.write_text(model_card(args.name, info))
    print(f"{output}: {output.stat().st_size / 1e6:.1f} MB; model card {card}")
    return 0


def model_card(name: str, info: dict) -> str:
    """The model card's training section (results are appended by the benchmark run)."""
    config = info["train_config"]
    extra = config.get("extra", {})
    return (
        f"# {name}\n\n"
        f"Architecture: `{json.dumps(info['model_config'], sort_keys=True)}`\n\n"
        "## Training\n\n"
        f"- command: `{extra.get('command', 'convpress train ...')}`\n"
        f"- data: {', '.join(extra.get('data', []))}\n"
        f"- steps: {info['steps']} of {config['steps']} (batch {config['batch_size']}, crops {config['crop']} then "
        f"{config['final_crop']} for the last {config['final_fraction']:.0%}), lr {config['lr']} "
        f"(milestones {config['lr_milestones']}), bf16 transforms: {config['bf16']}\n"
        f"- training time: {info['train_hours']:.2f} h of compute on {info['hardware']}"
        f" ({info['px_per_s'] / 1e3:.0f} kpx/s)\n\n"
        "## Kodak results\n\n(appended from `benchmarks/learned_kodak.py`)\n"
    )
