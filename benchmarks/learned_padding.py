"""What the learned codec's internal padding costs: sizes that are not multiples of 16.

The codec pads an image by edge replication to a multiple of 16 pixels (one latent position) and
codes only the latents of the image. For each Kodak image this codes the crop of a multiple-of-16
size (768x448, no padding) and the crop one pixel taller (768x449, padded with 15 replicated rows:
the worst case, a whole latent row for one pixel row) and reports how many more bytes the second
file takes than its one extra row of pixels is worth at the first file's rate.

Measured with the step-4517 weights at quality 50: +4.31% (format version 1, which padded to
multiples of 64 and coded every latent of the padded image: +9.35%).

    python benchmarks/learned_padding.py [--model NAME_OR_PATH] [--quality 50] [--max-images N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

from convpress.codecs.learned import LearnedCodec
from convpress.zoo import DEFAULT_MODEL

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--quality", type=float, default=50.0)
    parser.add_argument("--kodak", type=Path, default=SHARED / "data" / "kodak")
    parser.add_argument("--max-images", type=int, default=None)
    args = parser.parse_args()
    codec = LearnedCodec(model=args.model)
    overheads = []
    for path in sorted(args.kodak.glob("*.png"))[: args.max_images]:
        image = Image.open(path).convert("RGB")
        if image.width < image.height:
            image = image.transpose(Image.Transpose.ROTATE_90)
        exact = len(codec.encode(image.crop((0, 0, 768, 448)), quality=args.quality))
        padded = len(codec.encode(image.crop((0, 0, 768, 449)), quality=args.quality))
        expected = exact * 449 / 448  # the extra row at the unpadded file's rate
        overheads.append(100 * (padded / expected - 1))
        print(f"{path.name}: 768x448 {exact} B, 768x449 {padded} B, padding overhead {overheads[-1]:+.2f}%")
    print(f"mean padding overhead, 15 padded rows ({len(overheads)} images, quality {args.quality:g}): "
          f"{sum(overheads) / len(overheads):+.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
