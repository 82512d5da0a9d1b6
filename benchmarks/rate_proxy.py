"""How much the noisy rate proxy overstates the real rate: bpp of ``y`` and ``z`` per level, noisy vs rounded.

The learned codec's training measures the rate either on latents plus uniform noise or on the
rounded latents the coder writes (``convpress train --rate-proxy``). This prints both, from the
model's own likelihoods, on the first images of a folder, at levels 0, 3 and 7 (seeded noise).

    python benchmarks/rate_proxy.py [--model cp-checkerboard] [--images 4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from convpress.codecs.learned import load_model
from convpress.training.data import first_image_tensors
from convpress.training.losses import bits_per_pixel

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cp-checkerboard")
    parser.add_argument("--kodak", type=Path, default=SHARED / "data" / "kodak")
    parser.add_argument("--images", type=int, default=4)
    args = parser.parse_args(argv)
    model = load_model(args.model).model
    images = first_image_tensors(args.kodak, args.images)
    print("level  rate proxy  bpp (y + z)")
    for level in (0.0, 3.0, 7.0):
        rates = {}
        for proxy, training in (("rounded", False), ("noise", True)):
            model.train(training)
            torch.manual_seed(0)
            with torch.no_grad():
                rates[proxy] = np.mean([float(bits_per_pixel(model(x, torch.tensor([level]))["likelihoods"], x.shape[2] * x.shape[3]))
                                        for x in images])
        model.eval()
        print(f"{level:5g}  rounded     {rates['rounded']:.3f}")
        print(f"{level:5g}  noise       {rates['noise']:.3f}  ({100 * (rates['noise'] / rates['rounded'] - 1):+.0f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
