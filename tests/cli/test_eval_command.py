"""``convpress eval`` end to end on tiny generated images (and on two Kodak images)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from imagegen import natural_like
from PIL import Image

from convpress.cli import main


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(2):
        Image.fromarray(natural_like(48, 64, 3, seed=index), "RGB").save(folder / f"im{index}.png")
    return folder


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A made-up published curve, much like a CompressAI file."""
    path = tmp_path / "paper.json"
    results = {"bpp": [0.5, 1.0, 2.0, 3.0, 4.0], "psnr-rgb": [24.0, 27.0, 30.0, 32.0, 34.0],
               "ms-ssim-rgb": [0.85, 0.9, 0.95, 0.97, 0.98]}
    path.write_text(json.dumps({"name": "Paper", "description": "made up", "results": results}))
    return path


def run(dataset: Path, out: Path, *extra: str) -> int:
    return main(["eval", "--dataset", str(dataset), "--out", str(out), "--codecs", "jpeg", "--workers", "1", "-q", *extra])


def test_eval_writes_every_output(dataset, published, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(dataset, out, "--qualities", "20,50,80", "--published", str(published), "--anchor", "paper",
               "--option", "jpeg:subsampling=4:4:4") == 0
    with open(out / "per_image.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["image"], r["quality"]) for r in rows] == [(f"im{i}.png", q) for i in range(2) for q in ("20.0", "50.0", "80.0")]
    assert all(r["options"] == '{"subsampling": "4:4:4"}' for r in rows)
    assert len(json.loads((out / "per_image.json").read_text())) == 6
    curve = json.loads((out / "curves" / "jpeg.json").read_text())
    assert curve["name"] == "jpeg" and "images (2 images)" in curve["description"]
    assert curve["results"]["quality"] == [20.0, 50.0, 80.0]
    mean_bpp = sum(float(r["bpp"]) for r in rows if r["quality"] == "50.0") / 2
    assert curve["results"]["bpp"][1] == pytest.approx(mean_bpp)
    table = (out / "bd_table.md").read_text()
    assert "against **Paper**" in table and "| jpeg | 3 |" in table and "| Paper | 5 | +0.00 |" in table
    assert (out / "bd_table.csv").read_text().startswith("anchor,curve,points,bd_rate_cubic")
    assert (out / "rd.png").stat().st_size > 10_000 and (out / "rd.svg").exists()
    assert "| jpeg | 3 |" in capsys.readouterr().out


def test_existing_results_need_resume_or_force(dataset, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(dataset, out, "--qualities", "30") == 0
    first = json.loads((out / "per_image.json").read_text())
    assert run(dataset, out, "--qualities", "30") == 2
    assert "per_image.json exists; use --resume" in capsys.readouterr().err
    assert run(dataset, out, "--qualities", "30,60", "--resume") == 0
    resumed = json.loads((out / "per_image.json").read_text())
    assert [r for r in resumed if r["quality"] == 30.0] == first  # kept, timings included, not re-measured
    assert len(resumed) == 4
    assert run(dataset, out, "--qualities", "60", "--force") == 0
    assert len(json.loads((out / "per_image.json").read_text())) == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--codecs", "nosuchcodec"], "unknown codec 'nosuchcodec'"),
        (["--option", "webp:method=6"], "codec 'webp' is not among the codecs run (jpeg)"),
        (["--option", "jpeg-subsampling"], "expected CODEC:KEY=VALUE"),
        (["--anchor", "VTM"], "anchor 'VTM' matches no curve; curves: 'jpeg'"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--published", "missing.json"], "cannot read missing.json"),
    ],
)
def test_user_errors(dataset, tmp_path, capsys, arguments, message):
    assert run(dataset, tmp_path / "out", "--qualities", "50", *arguments) == 2
    assert message in capsys.readouterr().err


def test_missing_dataset(tmp_path, capsys):
    assert run(tmp_path / "nowhere", tmp_path / "out") == 2
    assert "does not exist" in capsys.readouterr().err


def test_two_kodak_images_against_the_published_jpeg(kodak_dir, tmp_path):
    anchors = kodak_dir.parents[1] / "anchors" / "compressai" / "image" / "kodak"
    if not anchors.is_dir():
        pytest.skip("published anchors not present")
    out = tmp_path / "kodak"
    assert main(["eval", "--dataset", str(kodak_dir), "--max-images", "2", "--codecs", "jpeg", "--qualities", "25,75",
                 "--workers", "2", "--published", str(anchors / "jpeg.json"), "--anchor", "JPEG", "--out", str(out),
                 "-q"]) == 0
    rows = json.loads((out / "per_image.json").read_text())
    assert [r["image"] for r in rows] == ["kodim01.png"] * 2 + ["kodim02.png"] * 2
    assert all(0.8 < r["ms-ssim"] < 1 and r["bpp"] > 0.2 for r in rows)
    assert "| JPEG | 19 | +0.00 |" in (out / "bd_table.md").read_text()
