"""The learned codec on Kodak: rate-distortion, BD-rates against published codecs, speed, rate estimate.

1. ``convpress eval`` of the learned codec (one worker, so times are not shared with another
   process) over its eight trained rate levels, with CompressAI's published JPEG, WebP, BPG, VTM,
   bmshj2018-hyperprior and mbt2018-mean curves and BD-rates against the published WebP;
2. encode and decode seconds per image (best of 3, 2 threads by default);
3. the real size of the coded latents against the model's estimate (-log2 of the integer tables).

    python benchmarks/learned_kodak.py OUT_DIR [--model NAME_OR_PATH] [--max-images N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from convpress.cli import main as convpress_main
from convpress.codecs.learned import Encoding, LearnedCodec, load_model
from convpress.coding.container import unpack
from convpress.evaluation.metrics import best_time
from convpress.models.gain import quality_to_level
from convpress.zoo import DEFAULT_MODEL

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PUBLISHED = (
    "jpeg.json",
    "webp.json",
    "bpg_444_x265_ycbcr.json",
    "vtm.json",
    "compressai-bmshj2018-hyperprior_mse_cpu.json",
    "compressai-mbt2018-mean_mse_cpu.json",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="shipped model name or .safetensors path")
    parser.add_argument("--kodak", type=Path, default=SHARED / "data" / "kodak")
    parser.add_argument("--anchors", type=Path, default=SHARED / "anchors" / "compressai" / "image" / "kodak")
    parser.add_argument("--max-images", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_args(argv)


def run_eval(args: argparse.Namespace) -> int:
    arguments = ["eval", "--dataset", str(args.kodak), "--codecs", "learned", "--option", f"learned:model={args.model}",
                 "--out", str(args.out), "--workers", "1", "--anchor", "WebP", "--force",
                 "--published", *(str(args.anchors / name) for name in PUBLISHED)]
    if args.max_images:
        arguments += ["--max-images", str(args.max_images)]
    print("convpress " + " ".join(arguments), flush=True)
    return convpress_main(arguments)


def print_rd(out: Path) -> None:
    rows = json.loads((out / "per_image.json").read_text())
    print("\nquality    bpp    PSNR-RGB  MS-SSIM   (mean over images)")
    for quality in sorted({row["quality"] for row in rows}):
        chosen = [row for row in rows if row["quality"] == quality]
        print(f"{quality:7.2f} {np.mean([r['bpp'] for r in chosen]):7.4f} {np.mean([r['psnr-rgb'] for r in chosen]):8.3f} "
              f"{np.mean([r['ms-ssim'] for r in chosen]):8.5f}")


def print_speed(args: argparse.Namespace, paths: list[Path], quality: float = 50.0) -> None:
    """Encode (analysis included) and decode seconds per image, best of 3, at ``args.threads`` threads."""
    codec = LearnedCodec(model=args.model)
    encode_times, decode_times = [], []
    for path in paths:
        image = Image.open(path).convert("RGB")
        data, encode_s = best_time(codec.encode, image, quality=quality, repeats=3)
        _, decode_s = best_time(codec.decode, data, repeats=3)
        encode_times.append(encode_s)
        decode_times.append(decode_s)
    print(f"\nspeed at quality {quality:g}, {args.threads} threads, {len(paths)} images: encode {np.mean(encode_times):.3f} s "
          f"(max {max(encode_times):.3f}), decode {np.mean(decode_times):.3f} s (max {max(decode_times):.3f}) per image")


def print_rate_estimate(args: argparse.Namespace, paths: list[Path]) -> None:
    loaded = load_model(args.model)
    codec = LearnedCodec(model=args.model)
    real, estimated = 0, 0.0
    for path in paths:
        encoding = Encoding(loaded, Image.open(path).convert("RGB"))
        for quality in (1, 50, 100):
            gain, _ = loaded.model.gain.gains(torch.tensor([quality_to_level(quality, loaded.model.levels)]))
            with torch.inference_mode():
                coded, _ = loaded.codec.encode_latents(encoding.raw_latents * gain)
            real += 8 * len(coded.stream)
            estimated += coded.estimated_bits
            assert unpack(codec.encode(Image.open(path).convert("RGB"), quality=quality))[1][0] == coded.stream
    print(f"\ncoded latents: {real / 8:.0f} bytes, estimate {estimated / 8:.0f} bytes, "
          f"overhead {100 * (real / estimated - 1):+.2f}%")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    status = run_eval(args)
    if status:
        return status
    print_rd(args.out)
    paths = sorted(args.kodak.glob("*.png"))[: args.max_images or None]
    print_speed(args, paths)
    print_rate_estimate(args, paths)
    print((args.out / "bd_table.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
