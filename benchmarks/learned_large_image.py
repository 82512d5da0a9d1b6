"""Peak memory and time of the learned codec on a large image (default 6000x4000).

The image is Kodak's kodim01 tiled and upsampled to the size asked for (a smooth, photo-like
6000x4000); encoding and decoding each run in a fresh process so their peak resident memory
(ru_maxrss) is measured separately. The issue's bound: under 2 GB each.

    python benchmarks/learned_large_image.py [--size 6000x4000] [--model NAME_OR_PATH] [--quality 50]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

ENCODE = """
import sys
from PIL import Image
from convpress.codecs.learned import LearnedCodec
Image.MAX_IMAGE_PIXELS = None
codec = LearnedCodec(model=sys.argv[3])
open(sys.argv[2], "wb").write(codec.encode(Image.open(sys.argv[1]), quality=float(sys.argv[4])))
"""
PEAK = "\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
DECODE = """
import sys
from convpress.codecs.learned import LearnedCodec
LearnedCodec(model=sys.argv[3]).decode(open(sys.argv[1], "rb").read()).save(sys.argv[2])
"""


def run_measured(code: str, *args: str) -> tuple[float, float]:
    """Seconds and peak RSS (MB, the child's own ru_maxrss) of ``python -c code args``."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code + PEAK, *args], check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    return seconds, int(result.stdout.split()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="6000x4000")
    parser.add_argument("--model", default="cp-checkerboard")
    parser.add_argument("--quality", default="50")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "large.png"
        Image.open(SHARED / "data" / "kodak" / "kodim01.png").convert("RGB").resize((width, height), Image.BICUBIC).save(source)
        coded, decoded = Path(folder) / "large.cpz", Path(folder) / "decoded.png"
        enc_s, enc_mb = run_measured(ENCODE, str(source), str(coded), args.model, args.quality)
        dec_s, dec_mb = run_measured(DECODE, str(coded), str(decoded), args.model)
        bpp = 8 * coded.stat().st_size / (width * height)
        print(f"{width}x{height}: {coded.stat().st_size} bytes ({bpp:.3f} bpp); encode {enc_s:.1f} s, peak {enc_mb:.0f} MB; "
              f"decode {dec_s:.1f} s, peak {dec_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
