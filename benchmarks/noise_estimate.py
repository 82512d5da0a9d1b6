"""Blind noise-level estimation: the estimates of sigma on BSD68 (gray) and CBSD68 (colour).

Prints the mean, standard deviation and maximum of ``estimate_noise_sigma`` over each set at a few
sigmas (noise added as ``denoise_eval.py`` adds it), next to Chen et al.'s eigenvalue-tail rule on
the same patches, which the gray path replaced.

    python benchmarks/noise_estimate.py [--sigmas 5 25 50]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from restoration_common import load_set

from convpress.restoration.degradations import add_gaussian_noise, estimate_noise_sigma, noise_patches, tail_noise_variance

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def tail_rule(image: np.ndarray) -> float:
    """Chen et al.'s estimate on all patches of all channels (the colour path's rule)."""
    return float(np.sqrt(tail_noise_variance(noise_patches(image))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=SHARED / "data" / "denoise")
    parser.add_argument("--sigmas", type=float, nargs="+", default=[5.0, 25.0, 50.0])
    args = parser.parse_args(argv)
    print("set     sigma  rule                   mean    std     max")
    for folder, mode in (("bsd68", "L"), ("cbsd68", "RGB")):
        images = [clean.astype(np.float64) for _, clean in load_set(args.data_root / folder, mode, None)]
        for sigma in args.sigmas:
            noisy = [add_gaussian_noise(clean, sigma, seed=int(1000 * sigma) + i) for i, clean in enumerate(images)]
            for rule, estimate in (("estimate_noise_sigma", estimate_noise_sigma), ("Chen tail", tail_rule)):
                values = np.array([estimate(np.asarray(n, dtype=np.float64)) for n in noisy])
                print(f"{folder:7s} {sigma:5g}  {rule:20s} {values.mean():6.2f} {values.std():6.2f} {values.max():7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
