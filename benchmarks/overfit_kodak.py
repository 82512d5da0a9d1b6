"""Rate, distortion and speed of the overfit codec on Kodak, next to HEVC, AVIF, JPEG XL and VVC intra.

For each image and each effort level the overfit codec is run at a few qualities (bpp, RGB PSNR,
encode and decode time: wall clock and CPU seconds of the process and its helper processes, all threads). The anchors
sweep their own quality scale on the same images: HEVC intra through the ``heic`` codec (x265,
4:4:4, preset slow), ``avif`` and ``jpegxl`` through convpress's codecs, and VVC intra (VVenC,
4:2:0 10-bit, the only format its ffmpeg wrapper takes) through the ffmpeg binary of the
``imageio-ffmpeg`` wheel when it has ``libvvenc``. BD-rates (Bjontegaard, PCHIP of log-rate over
PSNR, which needs only 2 points a curve) compare each overfit curve with each anchor per image, and
their mean over the images is the subset's figure.

The full run costs hours of CPU (the overfit encoder trains per image): pick a subset, e.g. one
image at one rate with a short effort to check the setup::

    PYTHONPATH=src python benchmarks/overfit_kodak.py --images kodim23 --qualities 60 --efforts fast

How quality grows with the iteration count, on a crop so that long runs stay affordable::

    PYTHONPATH=src python benchmarks/overfit_kodak.py --images kodim23 --crop 128 256 256 --qualities 60 \
        --iterations 1000 3000 9000 --no-vvc

Results go to stdout as a table and to ``--json`` if given. ``--report`` prints the table and the
BD-rates of rows saved earlier (one or more ``--json`` files, e.g. one per image) without encoding::

    PYTHONPATH=src python benchmarks/overfit_kodak.py --report runs/kodim07.json runs/kodim14.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from convpress.codecs import get_codec
from convpress.codecs.overfit import EFFORT_ITERATIONS, RDOQ_SWEEPS
from convpress.overfit.encoder import STARTS
from convpress.evaluation import bdrate

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"
IMAGES = ("kodim03", "kodim07", "kodim14", "kodim23")
OVERFIT_QUALITIES = (35, 55, 70, 85)
ANCHOR_QUALITIES = {
    "heic": (20, 35, 50, 60, 70, 80, 90),
    "avif": (20, 35, 50, 60, 70, 80, 90),
    "jpegxl": (20, 35, 50, 60, 70, 80, 90),
}
ANCHOR_OPTIONS = {"heic": {"subsampling": "4:4:4"}}
VVC_QPS = (42, 37, 32, 27, 22)


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    mse = float(np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its finished children (the encoder's helper processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process and the helper processes it started)."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def measure(codec_name: str, image: Image.Image, quality: float, label: str, **options) -> dict:
    codec = get_codec(codec_name)
    data, encode_wall, encode_cpu = timed(codec.encode, image, quality, **options)
    decoded, decode_wall, decode_cpu = timed(codec.decode, data)
    pixels = image.width * image.height
    return {
        "codec": label,
        "quality": quality,
        "bpp": 8 * len(data) / pixels,
        "psnr": psnr(np.asarray(image), np.asarray(decoded.convert("RGB"))),
        "encode_s": encode_wall,
        "encode_cpu_s": encode_cpu,
        "decode_s": decode_wall,
        "decode_cpu_s": decode_cpu,
    }


def vvc_ffmpeg() -> str | None:
    """An ffmpeg binary with the libvvenc encoder, or None (with the reason printed)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        print("VVC: imageio-ffmpeg is not installed (pip install 'convpress[bench]'); skipping VVC")
        return None
    executable = imageio_ffmpeg.get_ffmpeg_exe()
    encoders = subprocess.run([executable, "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    if "libvvenc" not in encoders:
        print(f"VVC: {executable} has no libvvenc encoder; skipping VVC")
        return None
    return executable


def measure_vvc(ffmpeg: str, path: Path, image: Image.Image, qp: int) -> dict:
    """VVC intra (VVenC, preset medium) of one PNG at a QP, decoded by ffmpeg's native decoder."""
    with tempfile.TemporaryDirectory() as folder:
        stream, raw = Path(folder) / "image.266", Path(folder) / "image.rgb"
        quiet = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
        encode = quiet + ["-i", str(path), "-frames:v", "1", "-pix_fmt", "yuv420p10le", "-c:v", "libvvenc",
                          "-qp", str(qp), "-preset", "medium", "-f", "vvc", str(stream)]
        decode = quiet + ["-i", str(stream), "-f", "rawvideo", "-pix_fmt", "rgb24", str(raw)]
        _, encode_wall, _ = timed(subprocess.run, encode, check=True)
        _, decode_wall, _ = timed(subprocess.run, decode, check=True)
        decoded = np.fromfile(raw, dtype=np.uint8).reshape(image.height, image.width, 3)
        size = stream.stat().st_size
    return {
        "codec": "vvc", "quality": qp, "bpp": 8 * size / (image.width * image.height),
        "psnr": psnr(np.asarray(image), decoded), "encode_s": encode_wall, "encode_cpu_s": None,
        "decode_s": decode_wall, "decode_cpu_s": None,
    }


def bd_rate(anchor: list[dict], test: list[dict]) -> float | None:
    """Bjontegaard delta rate (%) of ``test`` against ``anchor`` (PCHIP, which needs only 2 points)."""
    value = bdrate.bd_rate([p["bpp"] for p in anchor], [p["psnr"] for p in anchor],
                           [p["bpp"] for p in test], [p["psnr"] for p in test], method="pchip")
    return None if np.isnan(value) else value


def overfit_budgets(args: argparse.Namespace) -> list[tuple[str, dict]]:
    """(label, codec options) of every overfit curve: explicit iteration counts, else effort presets, for each start."""
    if args.iterations:
        budgets = [(f"{count}it", {"iterations": count}) for count in args.iterations]
    else:
        budgets = [(effort, {"effort": effort}) for effort in args.efforts]
    arm = {} if args.arm_hidden == 16 else {"arm": args.arm_hidden}
    suffix = ("" if not arm else f"-arm{args.arm_hidden}") + (f"-rdoq{args.rdoq}" if args.rdoq else "")
    extra = {**arm, "rdoq": args.rdoq}
    return [(f"{label}-{start}{suffix}", {**options, "start": start, **extra}) for label, options in budgets for start in args.starts]


def run(args: argparse.Namespace) -> list[dict]:
    ffmpeg = vvc_ffmpeg() if not args.no_vvc else None
    rows = []
    for name in args.images:
        path = KODAK / f"{name}.png"
        image = Image.open(path).convert("RGB")
        if args.crop:
            top, left, size = args.crop
            image = image.crop((left, top, left + size, top + size))
            path = Path(tempfile.mkdtemp()) / f"{name}-crop.png"  # VVC reads a file
            image.save(path)
        for label, budget in overfit_budgets(args):
            for quality in args.qualities:
                row = measure("overfit", image, quality, f"overfit-{label}", threads=args.threads, **budget)
                rows.append({"image": name, **row})
                print(json.dumps(rows[-1]), flush=True)
        for codec, qualities in ANCHOR_QUALITIES.items():
            for quality in qualities:
                rows.append({"image": name, **measure(codec, image, quality, codec, **ANCHOR_OPTIONS.get(codec, {}))})
        if ffmpeg:
            rows += [{"image": name, **measure_vvc(ffmpeg, path, image, qp)} for qp in VVC_QPS]
    return rows


def unique_rows(rows: Iterable[dict]) -> list[dict]:
    """The rows with one per image, codec and quality, the last read winning (files share anchor rows)."""
    return list({(row["image"], row["codec"], row["quality"]): row for row in rows}.values())


def report(rows: list[dict]) -> None:
    print(f"\n{'image':8s} {'codec':16s} {'q':>5s} {'bpp':>7s} {'PSNR':>6s} {'enc s':>8s} {'enc cpu':>8s} {'dec s':>6s}")
    for row in rows:
        cpu = f"{row['encode_cpu_s']:8.2f}" if row["encode_cpu_s"] is not None else f"{'':8s}"
        print(f"{row['image']:8s} {row['codec']:16s} {row['quality']:5g} {row['bpp']:7.4f} {row['psnr']:6.2f} "
              f"{row['encode_s']:8.2f} {cpu} {row['decode_s']:6.3f}")
    print("\nBD-rate of each overfit curve against each anchor (%; negative = smaller files):")
    per_pair: dict[tuple[str, str], dict[str, float | None]] = {}
    for image in sorted({row["image"] for row in rows}):
        curves: dict[str, list[dict]] = {}
        for row in rows:
            if row["image"] == image:
                curves.setdefault(row["codec"], []).append(row)
        for test in (c for c in curves if c.startswith("overfit")):
            for anchor in (c for c in curves if not c.startswith("overfit")):
                value = bd_rate(curves[anchor], curves[test])
                print(f"  {image} {test} vs {anchor}: " + ("n/a (needs 2+ overlapping points)" if value is None else f"{value:+.1f}%"))
                per_pair.setdefault((test, anchor), {})[image] = value
    report_means(per_pair)


def report_means(per_pair: dict[tuple[str, str], dict[str, float | None]]) -> None:
    """The mean BD-rate of each overfit curve against each anchor over the images that have both."""
    print("\nMean BD-rate over the images (%):")
    for (test, anchor), values in per_pair.items():
        known = {image: value for image, value in values.items() if value is not None}
        if known:
            print(f"  {test} vs {anchor}: {np.mean(list(known.values())):+.1f}% over {len(known)} images ({', '.join(known)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", nargs="+", default=list(IMAGES))
    parser.add_argument("--qualities", nargs="+", type=float, default=list(OVERFIT_QUALITIES))
    parser.add_argument("--efforts", nargs="+", default=list(EFFORT_ITERATIONS), choices=list(EFFORT_ITERATIONS))
    parser.add_argument("--iterations", nargs="+", type=int, help="iteration counts to run instead of --efforts")
    parser.add_argument("--crop", nargs=3, type=int, metavar=("TOP", "LEFT", "SIZE"),
                        help="code a SIZE x SIZE crop of each image instead of the whole image")
    parser.add_argument("--starts", nargs="+", default=["prior"], choices=list(STARTS),
                        help="the encoder's starting networks (prior: the shipped one)")
    parser.add_argument("--threads", type=int, default=2, help="encoder processes (cores) of the overfit codec")
    parser.add_argument("--arm-hidden", type=int, default=16, help="hidden width of the overfit codec's ARM (option arm)")
    parser.add_argument("--rdoq", type=int, default=RDOQ_SWEEPS,
                        help="sweeps of rate-distortion optimized rounding (option rdoq; 0: nearest integers)")
    parser.add_argument("--no-vvc", action="store_true", help="skip the VVC anchor")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument("--report", nargs="+", type=Path, metavar="JSON",
                        help="encode nothing: print the table and BD-rates of the rows in these --json files")
    args = parser.parse_args()
    if args.report:
        report(unique_rows(row for path in args.report for row in json.loads(path.read_text())))
        return
    rows = run(args)
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
