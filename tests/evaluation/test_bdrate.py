"""Bjøntegaard deltas: hand-made cases and the ``bjontegaard`` package on published curves."""

from __future__ import annotations

import json
import math
import warnings

import bjontegaard
import numpy as np
import pytest
from eval_helpers import anchors_dir  # noqa: F401  (fixture)

from convpress.evaluation.bdrate import BD_METHODS, bd_psnr, bd_rate

RATES = [0.2, 0.4, 0.7, 1.1, 1.6, 2.3]
PSNRS = [27.0, 29.6, 31.8, 33.7, 35.5, 37.4]


@pytest.mark.parametrize("method", BD_METHODS)
def test_identical_curves_have_zero_deltas(method):
    assert bd_rate(RATES, PSNRS, RATES, PSNRS, method) == 0.0
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS, method) == 0.0


@pytest.mark.parametrize("method", BD_METHODS)
def test_rate_scaled_by_0_9_is_minus_ten_percent(method):
    assert bd_rate(RATES, PSNRS, [0.9 * r for r in RATES], PSNRS, method) == pytest.approx(-10.0, abs=1e-9)
    assert bd_rate([0.9 * r for r in RATES], PSNRS, RATES, PSNRS, method) == pytest.approx(100 / 0.9 - 100, abs=1e-9)


@pytest.mark.parametrize("method", BD_METHODS)
def test_psnr_shifted_by_half_a_db_is_plus_half_a_db(method):
    assert bd_psnr(RATES, PSNRS, RATES, [p + 0.5 for p in PSNRS], method) == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("method", BD_METHODS)
def test_point_order_does_not_matter(method):
    order = [3, 0, 5, 1, 4, 2]
    test_rates = [0.85 * r for r in RATES]
    test_psnrs = [p + 0.1 * i for i, p in enumerate(PSNRS)]
    shuffled = [test_rates[i] for i in order], [test_psnrs[i] for i in order]
    assert bd_rate(RATES, PSNRS, *shuffled, method) == pytest.approx(bd_rate(RATES, PSNRS, test_rates, test_psnrs, method))


def test_repeated_operating_points_are_merged():
    # A codec whose quality levels collapse gives the same point twice; PCHIP needs distinct x.
    rates = RATES[:3] + [RATES[2]] + RATES[3:]
    psnrs = PSNRS[:3] + [PSNRS[2]] + PSNRS[3:]
    assert bd_rate(RATES, PSNRS, rates, psnrs, "pchip") == pytest.approx(0.0, abs=1e-12)


def test_no_overlap_or_too_few_points_gives_nan():
    high = [p + 20 for p in PSNRS]
    assert math.isnan(bd_rate(RATES, PSNRS, RATES, high, "cubic"))
    assert math.isnan(bd_psnr(RATES, PSNRS, [r * 100 for r in RATES], PSNRS, "pchip"))
    assert math.isnan(bd_rate(RATES[:3], PSNRS[:3], RATES, PSNRS, "cubic"))
    assert bd_rate(RATES[:3], PSNRS[:3], RATES[:3], PSNRS[:3], "pchip") == 0.0


def test_invalid_curves_are_refused():
    with pytest.raises(ValueError, match="as many rates as qualities"):
        bd_rate(RATES, PSNRS[:-1], RATES, PSNRS)
    with pytest.raises(ValueError, match="positive"):
        bd_rate([0.0] + RATES[1:], PSNRS, RATES, PSNRS)
    with pytest.raises(ValueError, match="finite"):
        bd_psnr(RATES, [math.nan] + PSNRS[1:], RATES, PSNRS)
    with pytest.raises(ValueError, match="akima"):
        bd_rate(RATES, PSNRS, RATES, PSNRS, method="akima")


PUBLISHED_PAIRS = [
    ("webp.json", "jpeg.json"),
    ("jpeg.json", "webp.json"),
    ("webp.json", "bpg_444_x265_ycbcr.json"),
    ("webp.json", "jpeg2000.json"),
    ("vtm.json", "compressai-mbt2018-mean_mse_cpu.json"),
    ("av1.json", "compressai-bmshj2018-hyperprior_mse_cpu.json"),
]


@pytest.mark.parametrize("method", BD_METHODS)
@pytest.mark.parametrize(("anchor_file", "test_file"), PUBLISHED_PAIRS)
def test_matches_the_bjontegaard_package_on_published_curves(anchors_dir, anchor_file, test_file, method):  # noqa: F811
    anchor = json.loads((anchors_dir / anchor_file).read_text())["results"]
    test = json.loads((anchors_dir / test_file).read_text())["results"]
    args = (anchor["bpp"], anchor["psnr-rgb"], test["bpp"], test["psnr-rgb"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package warns when overlap is under 75 %
        expected_rate = bjontegaard.bd_rate(*args, method=method, require_matching_points=False)
        expected_psnr = bjontegaard.bd_psnr(*args, method=method, require_matching_points=False)
    assert bd_rate(*args, method) == pytest.approx(expected_rate, abs=1e-6)
    assert bd_psnr(*args, method) == pytest.approx(expected_psnr, abs=1e-6)
    assert np.isfinite(expected_rate)


def test_published_webp_saves_a_third_of_jpeg_bits(anchors_dir):  # noqa: F811
    """A reference number to recognise: WebP vs JPEG on Kodak, CompressAI's published points."""
    jpeg = json.loads((anchors_dir / "jpeg.json").read_text())["results"]
    webp = json.loads((anchors_dir / "webp.json").read_text())["results"]
    assert bd_rate(jpeg["bpp"], jpeg["psnr-rgb"], webp["bpp"], webp["psnr-rgb"], "cubic") == pytest.approx(-36.62, abs=0.01)
    assert bd_psnr(jpeg["bpp"], jpeg["psnr-rgb"], webp["bpp"], webp["psnr-rgb"], "pchip") == pytest.approx(2.676, abs=0.001)
