"""Rate-distortion of the classical codecs on Kodak, next to CompressAI's published curves.

Runs ``convpress eval`` for jpeg, webp, jpeg2000, avif, jpegxl and heic over each codec's default
quality sweep on the 24 Kodak images, adds CompressAI's published JPEG, WebP, BPG, VTM, AV1,
mbt2018-mean and bmshj2018-hyperprior (MSE-trained) curves, and tabulates BD-rates against our
WebP. Takes tens of minutes on two cores (MS-SSIM dominates); ``--resume`` continues a stopped run.

    python benchmarks/classical_kodak.py OUT_DIR [--workers N] [--max-images N] [--qualities Q,Q]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from convpress.cli import main as convpress_main

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CODECS = ("jpeg", "webp", "jpeg2000", "avif", "jpegxl", "heic")
PUBLISHED = (
    "jpeg.json",
    "webp.json",
    "bpg_444_x265_ycbcr.json",
    "vtm.json",
    "av1.json",
    "compressai-mbt2018-mean_mse_cpu.json",
    "compressai-bmshj2018-hyperprior_mse_cpu.json",
)
ANCHOR = "webp"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the results")
    parser.add_argument("--kodak", type=Path, default=SHARED / "data" / "kodak", help="folder of the 24 Kodak PNGs")
    parser.add_argument("--anchors", type=Path, default=SHARED / "anchors" / "compressai" / "image" / "kodak",
                        help="folder of CompressAI's published Kodak JSON files")
    parser.add_argument("--codecs", default=",".join(CODECS), help="comma-separated codecs (default: %(default)s)")
    parser.add_argument("--workers", default=None, help="worker processes (default: convpress eval's)")
    parser.add_argument("--max-images", default=None, help="only the first N images (for a quick check)")
    parser.add_argument("--qualities", default=None, help="one sweep for every codec instead of their own")
    parser.add_argument("--resume", action="store_true", help="continue a previous run in OUT")
    return parser.parse_args(argv)


def eval_arguments(args: argparse.Namespace) -> list[str]:
    """The ``convpress eval`` command line this benchmark stands for."""
    arguments = ["eval", "--dataset", str(args.kodak), "--codecs", args.codecs, "--out", str(args.out),
                 "--anchor", ANCHOR, "--published", *(str(args.anchors / name) for name in PUBLISHED)]
    for flag, value in (("--workers", args.workers), ("--max-images", args.max_images), ("--qualities", args.qualities)):
        if value is not None:
            arguments += [flag, value]
    arguments.append("--resume" if args.resume else "--force")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = eval_arguments(parse_args(argv))
    print("convpress " + " ".join(arguments), flush=True)
    return convpress_main(arguments)


if __name__ == "__main__":
    sys.exit(main())
