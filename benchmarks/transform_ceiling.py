"""What caps the learned codec's quality: the quantizer or the transforms?

For each level, the PSNR of ``g_s(g_a(x))`` with the latents left unquantized (the transforms'
ceiling) next to the PSNR with them rounded (what the coder delivers, before entropy coding,
which is lossless). Where the two meet, a finer quantizer (a higher rate) buys nothing more: the
transforms themselves must get better (wider, or trained longer). Images: the first of a folder.

    python benchmarks/transform_ceiling.py [--model cp-checkerboard] [--images 4]
"""

from __future__ import annotations

import torch

from convpress.evaluation.metrics import psnr_from_mse
from learned_probe_common import model_and_images

LEVELS = (0.0, 3.5, 7.0)


def reconstructions(model, image: torch.Tensor, level: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The synthesis of the unquantized and of the rounded latents at one level, clamped to [0, 1]."""
    encoder_gain, decoder_gain = model.gain.gains(torch.tensor([level]))
    y = model.analyze(image) * encoder_gain
    return (model.synthesize(y * decoder_gain).clamp(0, 1),
            model.synthesize(torch.round(y) * decoder_gain).clamp(0, 1))


def psnr(reference: torch.Tensor, decoded: torch.Tensor) -> float:
    return psnr_from_mse(float(((reference - decoded) ** 2).mean()), peak=1.0)


def main(argv: list[str] | None = None) -> int:
    model, images = model_and_images(__doc__.splitlines()[0], argv)
    print("level  PSNR unquantized (dB)  PSNR rounded (dB)   (mean over images)")
    for level in LEVELS:
        with torch.no_grad():
            pairs = [reconstructions(model, image, level) for image in images]
        ceiling = sum(psnr(image, cont) for image, (cont, _) in zip(images, pairs)) / len(images)
        rounded = sum(psnr(image, hard) for image, (_, hard) in zip(images, pairs)) / len(images)
        print(f"{level:5.1f}  {ceiling:21.2f}  {rounded:17.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
