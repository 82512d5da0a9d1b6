"""BD tables against an anchor, and the files of an evaluation report."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from PIL import Image

from convpress.errors import ConvpressError
from convpress.evaluation.curves import RDCurve
from convpress.evaluation.report import bd_table, bd_table_csv, bd_table_markdown, find_curve, write_report

RATES = [0.2, 0.4, 0.7, 1.1, 1.6, 2.3]
PSNRS = [27.0, 29.6, 31.8, 33.7, 35.5, 37.4]
MS_SSIM = [0.90, 0.94, 0.96, 0.975, 0.985, 0.99]


def curves() -> list[RDCurve]:
    return [
        RDCurve("anchor", RATES, PSNRS, MS_SSIM),
        RDCurve("smaller", [0.9 * r for r in RATES], PSNRS, MS_SSIM),
        RDCurve("paper", [0.2, 0.5, 1.0], None, [0.92, 0.96, 0.98], source="paper.json"),
    ]


def test_find_curve_by_exact_then_case_insensitive_name():
    anchor, smaller, paper = curves()
    assert find_curve([anchor, smaller], "Smaller") is smaller
    twins = [RDCurve("WebP", RATES), RDCurve("webp", RATES)]
    assert find_curve(twins, "webp") is twins[1]
    with pytest.raises(ConvpressError, match="'WEBP' is ambiguous"):
        find_curve(twins, "WEBP")
    with pytest.raises(ConvpressError, match="'vtm' matches no curve; curves: 'WebP', 'webp'"):
        find_curve(twins, "vtm")


def test_bd_table_rows():
    every = curves()
    rows = bd_table(every, every[0])
    assert [r.curve for r in rows] == ["anchor", "smaller", "paper"]
    assert rows[0].bd_rate_cubic == 0 and rows[0].bd_psnr_pchip == 0 and rows[0].bd_rate_msssim_pchip == 0
    assert rows[1].bd_rate_cubic == pytest.approx(-10.0) and rows[1].bd_rate_pchip == pytest.approx(-10.0)
    assert rows[1].bd_rate_msssim_pchip == pytest.approx(-10.0)
    assert rows[1].bd_psnr_cubic > 0
    paper = rows[2]
    assert math.isnan(paper.bd_rate_cubic) and math.isnan(paper.bd_psnr_pchip)  # no PSNR published
    assert not math.isnan(paper.bd_rate_msssim_pchip) and paper.points == 3


def test_markdown_and_csv_tables():
    every = curves()
    rows = bd_table(every, every[0])
    markdown = bd_table_markdown(rows, "anchor")
    assert "against **anchor**" in markdown
    assert "| smaller | 6 | -10.00 | -10.00 |" in markdown
    assert "| paper | 3 |  |  |  |  |" in markdown
    table = list(csv.DictReader(io.StringIO(bd_table_csv(rows, "anchor"))))
    assert table[1]["anchor"] == "anchor" and float(table[1]["bd_rate_cubic"]) == pytest.approx(-10.0, abs=1e-9)
    assert table[2]["bd_psnr_cubic"] == ""


def test_write_report_writes_curves_tables_and_plots(tmp_path):
    anchor, smaller, paper = curves()
    duplicate = RDCurve("anchor", RATES, PSNRS, MS_SSIM, source="/x/anchor_copy.json")
    report = write_report(tmp_path, [anchor, smaller], [paper, duplicate], anchor="smaller", title="test set")
    names = sorted(p.relative_to(tmp_path).as_posix() for p in report.files)
    assert names == ["bd_table.csv", "bd_table.md", "curves/anchor.json", "curves/smaller.json", "rd.png", "rd.svg"]
    saved = json.loads((tmp_path / "curves" / "smaller.json").read_text())
    assert saved["results"]["bpp"] == pytest.approx([0.9 * r for r in RATES])
    assert "against **smaller**" in report.markdown and "| anchor (anchor_copy) |" in report.markdown
    assert "| anchor | 6 | +11.11 |" in report.markdown
    with Image.open(tmp_path / "rd.png") as plot:
        assert plot.format == "PNG" and plot.width > 1000
    assert "<svg" in (tmp_path / "rd.svg").read_text()[:1000]
