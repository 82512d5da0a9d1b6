"""Encoder-side latent refinement on a Kodak subset: `learned:refine=N` against plain encoding.

Runs ``convpress eval`` twice over the same images and qualities (one worker) into OUT/plain and
OUT/refineN, then prints the BD-rate and BD-quality of the refined curve against the plain one, per
image and for the mean curve, and the mean encode times. The quality is PSNR-RGB, or for MS-SSIM
weights (which refinement optimizes for MS-SSIM) MS-SSIM in dB, ``-10 log10(1 - MS-SSIM)``.
``--resume`` semantics: an interrupted run continues where it stopped (a refined encode takes ~70 s
per Kodak image).

    python benchmarks/learned_refine.py OUT [--images kodim03 kodim07 kodim14 kodim23] [--steps 100]
        [--model cp-checkerboard-msssim]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from convpress.cli import main as convpress_main
from convpress.codecs.learned import load_model
from convpress.evaluation.bdrate import bd_psnr, bd_rate
from convpress.evaluation.metrics import ms_ssim_db

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
QUALITIES = "1,43.43,71.71,100"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--kodak", type=Path, default=SHARED / "data" / "kodak")
    parser.add_argument("--images", nargs="+", default=["kodim03", "kodim07", "kodim14", "kodim23"])
    parser.add_argument("--steps", type=int, default=100, help="refinement steps")
    parser.add_argument("--qualities", default=QUALITIES)
    parser.add_argument("--model", default=None, help="learned-codec model name or .safetensors file (default: the default model)")
    return parser.parse_args(argv)


def subset(args: argparse.Namespace) -> Path:
    """A folder of links to the chosen Kodak images (eval takes a folder)."""
    folder = args.out / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for name in args.images:
        link = folder / f"{name}.png"
        if not link.exists():
            link.symlink_to((args.kodak / f"{name}.png").resolve())
    return folder


def run_eval(images: Path, out: Path, qualities: str, options: list[str], ms_ssim: bool) -> list[dict]:
    arguments = ["eval", "--dataset", str(images), "--codecs", "learned", "--qualities", qualities, "--workers", "1",
                 *([] if ms_ssim else ["--no-ms-ssim"]), "--quiet", "--resume", "--out", str(out)]
    for option in options:
        arguments += ["--option", option]
    if convpress_main(arguments):
        raise SystemExit(f"convpress {' '.join(arguments)} failed")
    return json.loads((out / "per_image.json").read_text())


def mean_curve(rows: list[dict], image: str | None = None, ms_ssim: bool = False) -> np.ndarray:
    """[quality points, (bpp, PSNR-RGB or MS-SSIM dB, encode s)] averaged over the images (or of one image)."""
    points = []
    for quality in sorted({row["quality"] for row in rows}):
        chosen = [r for r in rows if r["quality"] == quality and (image is None or r["image"] == image)]
        score = ms_ssim_db(np.mean([r["ms-ssim"] for r in chosen])) if ms_ssim else np.mean([r["psnr-rgb"] for r in chosen])
        points.append([np.mean([r["bpp"] for r in chosen]), score, np.mean([r["enc_s"] for r in chosen])])
    return np.array(points)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    images = subset(args)
    model = [f"learned:model={args.model}"] if args.model else []
    ms_ssim = args.model is not None and load_model(args.model).metric == "ms-ssim"
    plain = run_eval(images, args.out / "plain", args.qualities, model, ms_ssim)
    refined = run_eval(images, args.out / f"refine{args.steps}", args.qualities, [*model, f"learned:refine={args.steps}"], ms_ssim)
    score = "MS-SSIM dB" if ms_ssim else "PSNR-RGB"
    print(f"\nrefine={args.steps} against plain encoding ({score}, real file sizes)")
    print(f"image        BD-rate cubic  BD-rate PCHIP  BD-{'MS-SSIM' if ms_ssim else 'PSNR'}    encode s plain / refined")
    for image in [*sorted({row["image"] for row in plain}), None]:
        base, test = mean_curve(plain, image, ms_ssim), mean_curve(refined, image, ms_ssim)
        print(f"{image or 'mean curve':12s} {bd_rate(base[:, 0], base[:, 1], test[:, 0], test[:, 1]):+12.1f}% "
              f"{bd_rate(base[:, 0], base[:, 1], test[:, 0], test[:, 1], 'pchip'):+13.1f}% "
              f"{bd_psnr(base[:, 0], base[:, 1], test[:, 0], test[:, 1]):+8.2f} dB {base[:, 2].mean():8.2f} / {test[:, 2].mean():.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
