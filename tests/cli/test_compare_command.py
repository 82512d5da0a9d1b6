"""``convpress compare`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from imagegen import natural_like
from PIL import Image

from convpress.cli import main
from convpress.codecs import get_codec
from convpress.evaluation.sweep import lossy_codec_names


@pytest.fixture
def photo_path(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(natural_like(168, 200, 3, seed=4), "RGB").save(path)
    return path


def test_compare_at_equal_quality_writes_files_and_a_table(photo_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["compare", str(photo_path), "--codecs", "jpeg", "--quality", "60", "--repeats", "1", "--out", str(out)]) == 0
    image = Image.open(photo_path).convert("RGB")
    expected = get_codec("jpeg").encode(image, quality=60)
    assert (out / "photo.jpeg.jpg").read_bytes() == expected
    with Image.open(out / "photo.jpeg.png") as decoded:
        np.testing.assert_array_equal(np.asarray(decoded), np.asarray(get_codec("jpeg").decode(expected)))
    table = json.loads((out / "comparison.json").read_text())
    assert table["width"] == 200 and table["height"] == 168 and table["target_bpp"] is None
    (row,) = table["results"]
    assert row["codec"] == "jpeg" and row["quality"] == 60 and row["bytes"] == len(expected)
    assert row["bpp"] == pytest.approx(8 * len(expected) / (200 * 168)) and 0.9 < row["ms-ssim"] < 1
    with Image.open(out / "crops.png") as crops:
        assert crops.format == "PNG"
    printed = capsys.readouterr().out
    assert "codec  quality  bytes" in printed and f"jpeg        60   {len(expected)}" in printed


def test_compare_at_target_bpp_searches_quality(photo_path, tmp_path):
    out = tmp_path / "out"
    assert main(["compare", str(photo_path), "--codecs", "jpeg", "--target-bpp", "1.2", "--repeats", "1", "--out", str(out)]) == 0
    (row,) = json.loads((out / "comparison.json").read_text())["results"]
    assert abs(row["bpp"] - 1.2) < 0.2 and row["quality"] not in (75, None)


def test_outputs_are_not_overwritten_without_force(photo_path, tmp_path, capsys):
    arguments = ["compare", str(photo_path), "--codecs", "jpeg", "--repeats", "1", "--out", str(tmp_path / "out")]
    assert main(arguments) == 0
    assert main(arguments) == 2
    assert "exists; use --force" in capsys.readouterr().err
    assert main([*arguments, "--force"]) == 0


def test_sample_image(tmp_path, capsys):
    assert main(["compare", "--sample", "--codecs", "jpeg", "--quality", "40", "--repeats", "1", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("grace_hopper.jpg: 512x600 RGB")
    assert (tmp_path / "grace_hopper.jpeg.jpg").exists()


def test_default_codecs_are_every_lossy_codec(tmp_path):
    path = tmp_path / "small.png"
    Image.fromarray(natural_like(48, 64, 3), "RGB").save(path)
    assert main(["compare", str(path), "--repeats", "1", "--out", str(tmp_path / "out")]) == 0
    results = json.loads((tmp_path / "out" / "comparison.json").read_text())["results"]
    assert [r["codec"] for r in results] == lossy_codec_names()
    assert "jpeg" in lossy_codec_names() and "overfit" not in lossy_codec_names()  # minutes per encode
    assert all(r["quality"] == 75 for r in results)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "give an IMAGE or --sample"),
        (["IMAGE", "--sample"], "give an IMAGE or --sample"),
        (["IMAGE", "--codecs", "jpeg", "--target-bpp", "0"], "target bpp must be positive"),
        (["IMAGE", "--repeats", "0"], "--repeats must be at least 1"),
    ],
)
def test_user_errors(photo_path, tmp_path, capsys, arguments, message):
    arguments = [str(photo_path) if a == "IMAGE" else a for a in arguments]
    assert main(["compare", *arguments, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


def test_codec_that_cannot_store_the_image_is_reported(tmp_path, capsys):
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (32, 32), (10, 20, 30, 128)).save(path)
    assert main(["compare", str(path), "--codecs", "jpeg", "--out", str(tmp_path / "out")]) == 2
    assert "jpeg cannot store RGBA images" in capsys.readouterr().err
