"""JPEG artifact removal benchmark: PSNR / SSIM / PSNR-B on LIVE1 and Classic5 at qualities 10-40.

Protocols (ARCNN, DnCNN-3, FBCNN papers):
- gray: MATLAB's luma Y = round(16 + (65.481 R + 128.553 G + 24.966 B) / 255) of LIVE1 (Classic5 is
  gray already), compressed as a 1-channel JPEG; scores on Y;
- colour (LIVE1): RGB compressed as 4:2:0 JPEG; PSNR / SSIM on RGB, PSNR-B's blocking factor too.
JPEG is libjpeg-turbo through Pillow with the IJG tables, as MATLAB's imwrite; the "jpeg" row must
reproduce the published JPEG row (LIVE1 Y q10: 27.77 dB, colour q10: 25.69 dB), which checks the
protocol.

Published LIVE1 (Y) PSNR at q10: ARCNN 28.96, DnCNN-3 29.19, FBCNN 29.75; colour q10: FBCNN 27.77.

Classical baselines (optional ``baselines`` extra, scikit-image) have no setting that fits every
quality; each runs at a few fixed settings (one row each), so the best row is an oracle choice.

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/deblock_eval.py --sets live1-y classic5
--methods jpeg cnn --json out/deblock.json``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from restoration_common import Results, add_common_arguments, load_set, to_uint8

from convpress.restoration.api import deblock
from convpress.restoration.degradations import jpeg_roundtrip
from convpress.restoration.metrics import matlab_luma, psnr, psnr_b, ssim

SETS = {"live1-y": ("deblock/live1", "y"), "classic5": ("deblock/classic5", "L"), "live1-rgb": ("deblock/live1", "RGB")}


def gaussian(sigma: float):
    def run(image: np.ndarray, quality: int) -> np.ndarray:
        from skimage.filters import gaussian as blur

        return blur(image.astype(np.float64), sigma=sigma, channel_axis=None if image.ndim == 2 else -1, preserve_range=True)

    return run


def bilateral(sigma_color: float):
    def run(image: np.ndarray, quality: int) -> np.ndarray:
        from skimage.restoration import denoise_bilateral

        result = denoise_bilateral(image / 255.0, sigma_color=sigma_color, sigma_spatial=1.5,
                                   channel_axis=None if image.ndim == 2 else -1)
        return result * 255.0

    return run


def nlm(h: float):
    def run(image: np.ndarray, quality: int) -> np.ndarray:
        from skimage.restoration import denoise_nl_means

        result = denoise_nl_means(image / 255.0, h=h, patch_size=7, patch_distance=5, fast_mode=True,
                                  channel_axis=None if image.ndim == 2 else -1)
        return result * 255.0

    return run


def methods(weights: Path | None) -> dict:
    return {
        "jpeg": lambda image, quality: image,
        # The quality the deblocker is told is the one read from the JPEG's tables (equal here).
        "cnn": lambda image, quality: deblock(image, quality=quality, weights=weights, progress=False),
        "gauss-0.6": gaussian(0.6), "gauss-1.0": gaussian(1.0),
        "bilateral-0.05": bilateral(0.05), "bilateral-0.1": bilateral(0.1),
        "nlm-0.03": nlm(0.03), "nlm-0.06": nlm(0.06),
    }


def reference(image: np.ndarray, protocol: str) -> np.ndarray:
    return matlab_luma(image) if protocol == "y" else image


def scores(clean: np.ndarray, output: np.ndarray) -> dict:
    restored = to_uint8(output)
    return {"psnr": psnr(clean, restored), "ssim": ssim(clean, restored), "psnr_b": psnr_b(clean, restored)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--qualities", nargs="+", type=int, default=[10, 20, 30, 40])
    add_common_arguments(parser, SETS, list(methods(None)), ["jpeg", "cnn"], "deblocker")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    available = methods(args.weights)
    results = Results()
    for set_name in args.sets:
        folder, protocol = SETS[set_name]
        for name, image in load_set(args.data_root / folder, "RGB" if protocol == "y" else protocol, args.limit):
            clean = reference(image, protocol)
            for quality in args.qualities:
                compressed = jpeg_roundtrip(clean, quality).astype(np.float32)
                for method in args.methods:
                    results.measure((set_name, f"q{quality}", method), lambda: available[method](compressed, quality),
                                    lambda out: scores(clean, out))
            print(f"{set_name} {name} done", flush=True)
    results.print_table(("psnr", "ssim", "psnr_b"))
    results.save(args.json, vars(args) | {"weights": str(args.weights), "data_root": str(args.data_root), "json": str(args.json)})


if __name__ == "__main__":
    main()
