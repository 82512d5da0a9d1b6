"""Figures: RD curves and side-by-side crops."""

from __future__ import annotations

from PIL import Image

from convpress.evaluation.curves import RDCurve
from convpress.evaluation.plots import center_crop_box, plot_crops, plot_rd_curves


def test_center_crop_box_is_a_centred_square_no_larger_than_the_image():
    assert center_crop_box((768, 512)) == (256, 128, 512, 384)
    assert center_crop_box((100, 60), side=256) == (20, 0, 80, 60)


def test_plot_crops_writes_a_png(tmp_path, rgb_image, gray_image):
    path = plot_crops([("original", rgb_image), ("gray", gray_image), ("again", rgb_image)], tmp_path / "c.png",
                      center_crop_box(rgb_image.size, 32))
    with Image.open(path) as figure:
        assert figure.format == "PNG" and figure.width > figure.height


def test_rd_plot_accepts_curves_without_a_metric(tmp_path):
    curves = [RDCurve("ours", [0.5, 1.0], [30.0, 33.0], None), RDCurve("paper", [0.3, 0.9], None, [0.9, 0.97], source="p.json")]
    paths = plot_rd_curves(curves, tmp_path / "rd")
    assert [p.name for p in paths] == ["rd.png", "rd.svg"]
    svg = paths[1].read_text()
    assert "ours" in svg and "paper" in svg
