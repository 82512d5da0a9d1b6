"""Gaussian denoising benchmark: PSNR of the CNN (given and blind sigma) against BM3D and NLM.

Protocol (DnCNN / FFDNet / DRUNet papers): white Gaussian noise is added to the float image with
a fixed seed per (image, sigma), neither clipped nor quantised; results are clipped and rounded to
uint8 before PSNR. Sets: Set12, BSD68 (gray), CBSD68, Kodak24, McMaster (colour).

Published PSNR at sigma 25: BSD68 BM3D 28.57, DnCNN 29.23, FFDNet 29.19, DRUNet 29.48;
CBSD68 CBM3D 30.71, DnCNN 31.24, FFDNet 31.21, DRUNet 31.69.

BM3D (the ``bm3d`` package, non-commercial licence) and NLM (scikit-image) come with the optional
``baselines`` extra; BM3D is slow (~10 s per gray 481x321 image, more for colour): use ``--limit``.

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/denoise_eval.py --sets bsd68 cbsd68 --sigmas 25
--methods cnn cnn-blind bm3d --limit 10 --json out/denoise.json``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from restoration_common import Results, add_common_arguments, load_set, to_uint8

from convpress.restoration.api import denoise
from convpress.restoration.degradations import add_gaussian_noise
from convpress.restoration.metrics import psnr

SETS = {"set12": ("denoise/set12", "L"), "bsd68": ("denoise/bsd68", "L"), "cbsd68": ("denoise/cbsd68", "RGB"),
        "kodak": ("kodak", "RGB"), "mcmaster": ("denoise/mcmaster18", "RGB")}


def bm3d_denoise(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    scaled = noisy / 255.0
    result = bm3d.bm3d(scaled, sigma / 255.0) if noisy.ndim == 2 else bm3d.bm3d_rgb(scaled, sigma / 255.0)
    return np.asarray(result) * 255.0


def nlm_denoise(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """scikit-image's fast NLM with its recommended h = 0.8 sigma (sigma given), 7x7 patches, 11x11 search."""
    from skimage.restoration import denoise_nl_means

    channel_axis = None if noisy.ndim == 2 else -1
    scaled = noisy.astype(np.float64) / 255.0
    result = denoise_nl_means(scaled, h=0.8 * sigma / 255, sigma=sigma / 255, patch_size=7, patch_distance=5,
                              fast_mode=True, channel_axis=channel_axis)
    return result * 255.0


def methods(weights: Path | None) -> dict:
    return {
        "noisy": lambda noisy, sigma: noisy,
        "cnn": lambda noisy, sigma: denoise(noisy, sigma=sigma, weights=weights, progress=False),
        "cnn-blind": lambda noisy, sigma: denoise(noisy, weights=weights, progress=False),
        "bm3d": bm3d_denoise,
        "nlm": nlm_denoise,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sigmas", nargs="+", type=float, default=[15, 25, 50])
    add_common_arguments(parser, SETS, list(methods(None)), ["noisy", "cnn", "cnn-blind"], "denoiser")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    available = methods(args.weights)
    results = Results()
    for set_name in args.sets:
        folder, mode = SETS[set_name]
        for index, (name, clean) in enumerate(load_set(args.data_root / folder, mode, args.limit)):
            for sigma in args.sigmas:
                noisy = add_gaussian_noise(clean, sigma, seed=int(1000 * sigma) + index)
                for method in args.methods:
                    results.measure((set_name, f"s{sigma:g}", method), lambda: available[method](noisy, sigma),
                                    lambda out: {"psnr": psnr(clean, to_uint8(out))})
            print(f"{set_name} {name} done", flush=True)
    results.print_table(("psnr",))
    results.save(args.json, vars(args) | {"weights": str(args.weights), "data_root": str(args.data_root), "json": str(args.json)})


if __name__ == "__main__":
    main()
