"""Averaging per-image rows into curves, and CompressAI's JSON layout both ways."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from eval_helpers import anchors_dir  # noqa: F401  (fixture)

from convpress.errors import ConvpressError
from convpress.evaluation.curves import (
    RDCurve,
    average_rows,
    curve_from_json,
    curve_to_json,
    load_published,
    make_names_unique,
    rd_points,
)


def row(image: str, quality, psnr: float, bpp: float, ms: float = math.nan) -> dict:
    return {"image": image, "codec": "c", "quality": quality, "bytes": 1, "bpp": bpp, "psnr-rgb": psnr,
            "psnr-y": psnr + 1, "ms-ssim": ms, "enc_s": 0.01, "dec_s": 0.02, "options": "{}"}


def test_average_is_the_mean_of_per_image_psnr_sorted_by_quality():
    rows = [row("a", 80.0, 30.0, 1.0, 0.9), row("b", 80.0, 40.0, 3.0, math.nan), row("a", 20.0, 25.0, 0.5, 0.8)]
    curve = average_rows(rows, "c", "desc")
    assert curve.extra["quality"] == [20.0, 80.0]
    assert curve.bpp == [0.5, 2.0]
    # Mean PSNR (35), not the PSNR of the mean MSE (which would be about 32.6).
    assert curve.psnr_rgb == [25.0, 35.0]
    assert curve.extra["psnr-y"] == [26.0, 36.0]
    assert curve.ms_ssim == [0.8, 0.9]  # the image without MS-SSIM is skipped
    assert curve.encoding_time == pytest.approx([0.01, 0.01]) and curve.decoding_time == pytest.approx([0.02, 0.02])


def test_lossless_rows_have_no_quality():
    curve = average_rows([row("a", None, math.inf, 4.0)], "png")
    assert curve.extra["quality"] == [None] and curve.psnr_rgb == [math.inf]
    with pytest.raises(ConvpressError, match="no results"):
        average_rows([], "png")


def test_json_round_trip_writes_null_for_nan_and_compressai_keys():
    curve = average_rows([row("a", 50.0, 30.0, 1.0)], "c", "desc")
    data = json.loads(json.dumps(curve_to_json(curve)))
    assert data["name"] == "c" and data["description"] == "desc"
    assert set(data["results"]) == {"bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time", "quality", "psnr-y"}
    assert data["results"]["ms-ssim-rgb"] == [None]
    back = curve_from_json(data)
    assert back.bpp == curve.bpp and back.psnr_rgb == curve.psnr_rgb and math.isnan(back.ms_ssim[0])
    assert back.extra == {"quality": [50.0], "psnr-y": [31.0]}


def test_load_published_compressai_file(anchors_dir):  # noqa: F811
    curve = load_published(anchors_dir / "jpeg.json")
    assert curve.name == "JPEG" and curve.source.endswith("jpeg.json")
    assert len(curve.bpp) == len(curve.psnr_rgb) == len(curve.ms_ssim) == 19
    assert curve.bpp[0] == pytest.approx(0.22115325927734372)
    assert curve.ms_ssim[0] == pytest.approx(0.8030709524949392)


def test_published_ms_ssim_in_db_is_converted_back(tmp_path):
    path = tmp_path / "paper.json"
    path.write_text(json.dumps({"name": "paper", "results": {"bpp": [0.1, 0.2], "ms-ssim-db-rgb": [10.0, 20.0]}}))
    curve = load_published(path)
    assert curve.psnr_rgb is None
    assert curve.ms_ssim == pytest.approx([0.9, 0.99])
    assert rd_points(curve, "psnr-rgb")[0].size == 0
    np.testing.assert_allclose(rd_points(curve, "ms-ssim-db")[1], [10.0, 20.0])


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ('{"name": "x"}', "not a CompressAI results file"),
     ('{"name": "x", "results": {"bpp": [1, 2], "psnr-rgb": [30]}}', "2 bpp values but 1 psnr-rgb")],
)
def test_bad_published_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConvpressError, match=message):
        load_published(path)
    with pytest.raises(ConvpressError, match="cannot read"):
        load_published(tmp_path / "missing.json")


def test_rd_points_drops_undefined_points():
    curve = RDCurve("c", bpp=[0.5, 1.0, 2.0], psnr_rgb=[30.0, math.nan, math.inf], ms_ssim=[0.9, 0.95, 1.0])
    bpp, psnr = rd_points(curve, "psnr-rgb")
    assert bpp.tolist() == [0.5] and psnr.tolist() == [30.0]
    bpp, db = rd_points(curve, "ms-ssim-db")
    assert bpp.tolist() == [0.5, 1.0] and db == pytest.approx([10.0, 13.0103], abs=1e-4)


def test_repeated_names_become_unique():
    curves = [RDCurve("jpeg", [1.0]), RDCurve("mbt", [1.0], source="/a/mbt_mse.json"),
              RDCurve("mbt", [1.0], source="/a/mbt_ms-ssim.json"), RDCurve("jpeg", [1.0])]
    make_names_unique(curves)
    assert [c.name for c in curves] == ["jpeg", "mbt", "mbt (mbt_ms-ssim)", "jpeg #2"]
