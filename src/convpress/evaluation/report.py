"""Bjøntegaard tables of many curves against one anchor (Markdown and CSV), and the files of a run.

Every curve (measured or published) is compared with the anchor on PSNR-RGB with both fits
(cubic and PCHIP), and on MS-SSIM in dB with PCHIP. A curve lacking a metric, or whose range does
not overlap the anchor's, gets an empty cell rather than a made-up number.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from convpress.errors import ConvpressError
from convpress.evaluation.bdrate import bd_psnr, bd_rate
from convpress.evaluation.curves import RDCurve, curve_to_json, make_names_unique, rd_points
from convpress.evaluation.plots import plot_rd_curves
from convpress.imageio import write_atomic


@dataclass(frozen=True)
class BDRow:
    """One curve's deltas against the anchor (NaN where they cannot be computed)."""

    curve: str
    points: int
    bd_rate_cubic: float
    bd_rate_pchip: float
    bd_psnr_cubic: float
    bd_psnr_pchip: float
    bd_rate_msssim_pchip: float


COLUMN_TITLES = {
    "curve": "curve",
    "points": "points",
    "bd_rate_cubic": "BD-rate cubic (%)",
    "bd_rate_pchip": "BD-rate PCHIP (%)",
    "bd_psnr_cubic": "BD-PSNR cubic (dB)",
    "bd_psnr_pchip": "BD-PSNR PCHIP (dB)",
    "bd_rate_msssim_pchip": "BD-rate MS-SSIM PCHIP (%)",
}


def find_curve(curves: Sequence[RDCurve], name: str) -> RDCurve:
    """The curve called ``name``: exact match first, then a unique case-insensitive one."""
    for curve in curves:
        if curve.name == name:
            return curve
    matches = [c for c in curves if c.name.lower() == name.lower()]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(repr(c.name) for c in curves)
    problem = "is ambiguous" if matches else "matches no curve"
    raise ConvpressError(f"anchor {name!r} {problem}; curves: {known}")


def bd_table(curves: Sequence[RDCurve], anchor: RDCurve) -> list[BDRow]:
    """Deltas of every curve against ``anchor`` (the anchor's own row is all zeros)."""
    anchor_psnr = rd_points(anchor, "psnr-rgb")
    anchor_msssim = rd_points(anchor, "ms-ssim-db")
    rows = []
    for curve in curves:
        psnr = rd_points(curve, "psnr-rgb")
        msssim = rd_points(curve, "ms-ssim-db")
        rows.append(BDRow(
            curve=curve.name,
            points=len(curve.bpp),
            bd_rate_cubic=bd_rate(*anchor_psnr, *psnr, method="cubic"),
            bd_rate_pchip=bd_rate(*anchor_psnr, *psnr, method="pchip"),
            bd_psnr_cubic=bd_psnr(*anchor_psnr, *psnr, method="cubic"),
            bd_psnr_pchip=bd_psnr(*anchor_psnr, *psnr, method="pchip"),
            bd_rate_msssim_pchip=bd_rate(*anchor_msssim, *msssim, method="pchip"),
        ))
    return rows


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:+.2f}"
    return str(value)


def bd_table_markdown(rows: Sequence[BDRow], anchor_name: str) -> str:
    """A Markdown table; negative BD-rate and positive BD-PSNR mean better than the anchor."""
    titles = [COLUMN_TITLES[f.name] for f in fields(BDRow)]
    lines = [
        f"BD deltas against **{anchor_name}** on bpp (negative BD-rate / positive BD-PSNR: better than the anchor).",
        "",
        "| " + " | ".join(titles) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(titles))) + "|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in astuple(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def bd_table_csv(rows: Sequence[BDRow], anchor_name: str) -> str:
    """CSV with full precision; an ``anchor`` column repeats the anchor's name on every row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["anchor", *(f.name for f in fields(BDRow))])
    for row in rows:
        writer.writerow([anchor_name, *("" if isinstance(v, float) and math.isnan(v) else v for v in astuple(row))])
    return buffer.getvalue()


@dataclass(frozen=True)
class EvaluationReport:
    """What :func:`write_report` produced: the table as Markdown and every file written."""

    markdown: str
    files: list[Path]


def write_report(out: Path, measured: Sequence[RDCurve], published: Sequence[RDCurve], anchor: str, title: str = "") -> EvaluationReport:
    """Write the curve files, the RD plot and the BD tables of one evaluation into ``out``.

    ``curves/<name>.json`` holds each measured curve in CompressAI's layout; ``rd.png``/``rd.svg``
    plots measured and published curves; ``bd_table.md``/``bd_table.csv`` compare every curve with
    ``anchor``, the name of a measured or published curve.
    """
    curves_dir = out / "curves"
    curves_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for curve in measured:
        files.append(write_atomic(curves_dir / f"{curve.name}.json", _json_bytes(curve_to_json(curve)), force=True))
    every_curve = [*measured, *published]
    make_names_unique(every_curve)
    anchor_curve = find_curve(every_curve, anchor)
    rows = bd_table(every_curve, anchor_curve)
    markdown = bd_table_markdown(rows, anchor_curve.name)
    files.append(write_atomic(out / "bd_table.md", markdown.encode(), force=True))
    files.append(write_atomic(out / "bd_table.csv", bd_table_csv(rows, anchor_curve.name).encode(), force=True))
    files.extend(plot_rd_curves(every_curve, out / "rd", title=title))
    return EvaluationReport(markdown, files)


def _json_bytes(data) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()
