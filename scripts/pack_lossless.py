"""Copy training photos as lossless WebP, optionally down-scaled, until a byte budget is spent.

The GPU machine's carry limit (scripts/gpu_pack.sh) leaves room for about 50 MB of training data.
Re-encoding photos lossily to fit made a fine-tune worse (README, "On a lent GPU machine"), so the
larger sets travel losslessly: WebP lossless is ~20-35 % smaller than their PNGs, and halving each
side (Lanczos, which also averages away sensor noise, as CompressAI's data preparation does) leaves
a quarter of the pixels in roughly a quarter of the bytes.

    python scripts/pack_lossless.py SRC DEST --scale 0.5 --budget BYTES [--min-side 256]

Prints how many photos fit and the bytes written; stops at the first photo over the budget.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image

PHOTO_SUFFIXES = {".png", ".bmp", ".tif", ".tiff"}


def lossless_webp(path: Path, scale: float) -> bytes:
    """The photo at ``path``, resized by ``scale`` (1: as is), as lossless WebP bytes."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        if scale != 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", lossless=True, quality=80, method=4)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--budget", type=int, required=True, help="bytes the copies may take")
    parser.add_argument("--min-side", type=int, default=256, help="skip photos whose scaled short side is smaller (training crop)")
    args = parser.parse_args()
    args.dest.mkdir(parents=True, exist_ok=True)
    written = count = 0
    for path in sorted(p for p in args.source.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES):
        with Image.open(path) as image:
            if min(image.size) * args.scale < args.min_side:
                continue
        data = lossless_webp(path, args.scale)
        if written + len(data) > args.budget:
            break
        (args.dest / f"{path.stem}.webp").write_bytes(data)
        written += len(data)
        count += 1
    print(f"{args.dest}: {count} photos from {args.source}, {written} bytes")


if __name__ == "__main__":
    main()
