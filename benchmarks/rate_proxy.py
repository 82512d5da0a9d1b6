"""How much the noisy rate proxy overstates the real rate: bpp of ``y`` and ``z`` per level, noisy vs rounded.

The learned codec's training measures the rate either on latents plus uniform noise or on the
rounded latents the coder writes (``convpress train --rate-proxy``). This prints both, from the
model's own likelihoods, on the first images of a folder, at levels 0, 3 and 7 (seeded noise).

    python benchmarks/rate_proxy.py [--model cp-checkerboard] [--images 4]
"""

from __future__ import annotations

import numpy as np
import torch

from convpress.training.losses import bits_per_pixel
from learned_probe_common import model_and_images


def main(argv: list[str] | None = None) -> int:
    model, images = model_and_images(__doc__.splitlines()[0], argv)
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
