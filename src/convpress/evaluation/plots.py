"""Figures: rate-distortion curves and side-by-side crops of decoded images.

Figures are drawn on :class:`matplotlib.figure.Figure` objects directly, not through pyplot, so
they need no display, keep no global state and are safe in worker processes and the web service.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from PIL import Image

from convpress.evaluation.curves import RDCurve, rd_points

COLORS = (*colormaps["tab10"].colors, *colormaps["Dark2"].colors)
"""18 distinct colours, so that a full benchmark's curves do not share one."""
RD_PANELS = (("psnr-rgb", "PSNR-RGB (dB)"), ("ms-ssim-db", "MS-SSIM (dB, -10 log10(1 - MS-SSIM))"))


def plot_rd_curves(curves: Sequence[RDCurve], stem: str | Path, title: str = "") -> list[Path]:
    """PSNR-RGB and MS-SSIM (dB) against bpp, saved as ``stem.png`` and ``stem.svg``.

    Measured curves are solid, published ones dashed. The x axis stops a little past the largest
    measured rate, so that published curves reaching 4 bpp do not squash the range we measured.
    """
    figure = Figure(figsize=(13, 5.2), layout="constrained")
    axes = figure.subplots(1, 2)
    x_max = _x_limit(curves)
    for ax, (metric, label) in zip(axes, RD_PANELS):
        visible_y = []
        for index, curve in enumerate(curves):
            bpp, quality = rd_points(curve, metric)
            if bpp.size == 0:
                continue
            style = {"linestyle": "--", "marker": "x", "markersize": 4} if curve.source else {"marker": "o", "markersize": 4}
            ax.plot(bpp, quality, label=curve.name, color=COLORS[index % len(COLORS)], **style)
            visible_y.extend(quality[bpp <= x_max])
        ax.set_xlim(0, x_max)
        if visible_y:
            margin = 0.04 * (max(visible_y) - min(visible_y) or 1.0)
            ax.set_ylim(min(visible_y) - margin, max(visible_y) + margin)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if visible_y:
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="gray")
    if title:
        figure.suptitle(title)
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    figure.savefig(paths[0], dpi=150)
    figure.savefig(paths[1])
    return paths


def _x_limit(curves: Sequence[RDCurve]) -> float:
    measured = [max(c.bpp) for c in curves if not c.source and c.bpp]
    every = [max(c.bpp) for c in curves if c.bpp]
    return 1.05 * max(measured or every or [1.0])


def center_crop_box(size: tuple[int, int], side: int = 256) -> tuple[int, int, int, int]:
    """A square (left, top, right, bottom) box of ``side`` px (or less) in the image centre."""
    width, height = size
    side = min(side, width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def plot_crops(panels: Sequence[tuple[str, Image.Image]], path: str | Path, box: tuple[int, int, int, int]) -> Path:
    """The same crop of each image side by side, each titled by its label, saved as a PNG.

    Pixels are shown without smoothing so that compression artefacts stay visible.
    """
    columns = min(len(panels), 4)
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(3.4 * columns, 3.7 * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, (label, image) in zip(axes, panels):
        crop = image.crop(box)
        ax.imshow(np.asarray(crop), cmap="gray" if crop.mode == "L" else None, vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(label, fontsize="small")
    path = Path(path)
    figure.savefig(path, dpi=150)
    return path
