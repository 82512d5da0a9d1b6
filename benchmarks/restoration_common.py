"""Shared by denoise_eval.py and deblock_eval.py: test-set loading, result tables, JSON output."""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
"""The shared data sets beside the repository (read-only, never copied into it)."""


def add_common_arguments(parser: argparse.ArgumentParser, sets: dict, methods: list[str], defaults: list[str], what: str) -> None:
    """The options both restoration benchmarks take: sets, methods, limit, weights, data, threads, json."""
    parser.add_argument("--sets", nargs="+", default=list(sets), choices=list(sets))
    parser.add_argument("--methods", nargs="+", default=defaults, choices=methods)
    parser.add_argument("--limit", type=int, help="first N images of each set")
    parser.add_argument("--weights", type=Path, help=f"{what} weights (default: the shipped ones)")
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the mean results here")


def load_set(folder: Path, mode: str, limit: int | None) -> list[tuple[str, np.ndarray]]:
    """(name, uint8 array) of the first ``limit`` images of a folder, sorted by name, in ``mode``."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".bmp", ".tif", ".jpg"))[:limit]
    if not paths:
        raise SystemExit(f"no images in {folder}")
    return [(p.stem, np.asarray(Image.open(p).convert(mode))) for p in paths]


class Results:
    """Mean scores per (set, setting, method), timed, printed as a table and saved as JSON."""

    def __init__(self) -> None:
        self.scores: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def measure(self, key: tuple[str, str, str], run: Callable[[], np.ndarray], score: Callable[[np.ndarray], dict]) -> None:
        started = time.perf_counter()
        output = run()
        seconds = time.perf_counter() - started
        for metric, value in {**score(output), "seconds": seconds}.items():
            self.scores[key][metric].append(value)

    def means(self) -> list[dict]:
        return [{"set": s, "setting": g, "method": m, "images": len(v["seconds"]), **{k: float(np.mean(x)) for k, x in v.items()}}
                for (s, g, m), v in self.scores.items()]

    def print_table(self, metrics: tuple[str, ...]) -> None:
        print(f"{'set':10s} {'setting':8s} {'method':16s} {'n':>3s} " + " ".join(f"{m:>8s}" for m in metrics) + f" {'s/img':>7s}")
        for row in self.means():
            values = " ".join(f"{row[m]:8.4f}" if m.startswith("ssim") else f"{row[m]:8.2f}" for m in metrics)
            print(f"{row['set']:10s} {row['setting']:8s} {row['method']:16s} {row['images']:3d} {values} {row['seconds']:7.2f}")

    def save(self, path: Path | None, settings: dict) -> None:
        if path is not None:
            path.write_text(json.dumps({"settings": settings, "results": self.means()}, indent=1))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clip and round, as results are stored (KAIR's tensor2uint)."""
    return np.clip(np.round(image), 0, 255).astype(np.uint8)
