"""The sweep: rows measured right, in parallel the same as in-process, resumable, stored losslessly."""

from __future__ import annotations

import json
import math

import pytest
from eval_helpers import fake_codecs, tiny_dataset  # noqa: F401  (fixtures)
from PIL import Image

from convpress.codecs import Codec, get_codec
from convpress.errors import ConvpressError
from convpress.evaluation import metrics
from convpress.evaluation.sweep import (
    ROW_FIELDS,
    CodecSetting,
    codec_setting,
    find_images,
    load_rows,
    rows_to_csv,
    rows_to_json,
    run_sweep,
    save_rows,
)


def test_find_images_lists_image_files_by_name(tiny_dataset):  # noqa: F811
    assert [p.name for p in find_images(tiny_dataset)] == ["img0.png", "img1.png", "img2.png"]
    assert [p.name for p in find_images(tiny_dataset, max_images=2)] == ["img0.png", "img1.png"]
    with pytest.raises(ConvpressError, match="does not exist"):
        find_images(tiny_dataset / "missing")
    with pytest.raises(ConvpressError, match="at least 1"):
        find_images(tiny_dataset, max_images=0)
    empty = tiny_dataset / "empty"
    empty.mkdir()
    with pytest.raises(ConvpressError, match="no images"):
        find_images(empty)


def test_codec_setting_uses_the_codecs_default_sweep(fake_codecs):  # noqa: F811
    assert codec_setting("jpeg").qualities == tuple(float(q) for q in Codec.default_qualities)
    assert codec_setting("JPEG", [30, 60]).qualities == (30.0, 60.0)
    assert codec_setting("fake-lossless", [30, 60]).qualities == (None,)
    with pytest.raises(ValueError, match="quality must be between 1 and 100, got 0"):
        codec_setting("jpeg", [0, 50])
    setting = codec_setting("jpeg", [50], {"subsampling": "4:4:4"})
    assert setting.options_json == '{"subsampling": "4:4:4"}'


def test_rows_hold_the_real_byte_count_and_the_metrics_of_the_decoded_image(tiny_dataset):  # noqa: F811
    rows = run_sweep(find_images(tiny_dataset), [codec_setting("jpeg", [20, 80])], root=tiny_dataset, progress=False)
    assert [(r["image"], r["quality"]) for r in rows] == [
        (f"img{i}.png", q) for i in range(3) for q in (20.0, 80.0)
    ]
    jpeg = get_codec("jpeg")
    for r in rows:
        image = Image.open(tiny_dataset / r["image"]).convert("RGB")
        data = jpeg.encode(image, quality=r["quality"])
        assert r["bytes"] == len(data)
        assert r["bpp"] == 8 * len(data) / (56 * 40)
        assert r["psnr-rgb"] == metrics.psnr_rgb(image, jpeg.decode(data))
        assert r["psnr-y"] == metrics.psnr_y(image, jpeg.decode(data))
        assert math.isnan(r["ms-ssim"])  # 40 px images are too small for MS-SSIM
        assert r["enc_s"] > 0 and r["dec_s"] > 0 and r["options"] == "{}"
    assert rows[0]["psnr-rgb"] < rows[1]["psnr-rgb"] and rows[0]["bytes"] < rows[1]["bytes"]


def test_worker_processes_give_the_same_rows(tiny_dataset):  # noqa: F811
    settings = [codec_setting("jpeg", [30, 70], {"subsampling": "4:4:4"})]
    images = find_images(tiny_dataset)
    serial = run_sweep(images, settings, workers=1, progress=False)
    parallel = run_sweep(images, settings, workers=2, progress=False)
    untimed = lambda rows: [{k: v for k, v in r.items() if k not in ("enc_s", "dec_s", "ms-ssim")} for r in rows]  # noqa: E731
    assert untimed(parallel) == untimed(serial)
    assert serial[0]["options"] == '{"subsampling": "4:4:4"}'


def test_resume_keeps_previous_rows_and_measures_only_the_rest(tiny_dataset, fake_codecs):  # noqa: F811
    quantizer, _ = fake_codecs
    images = find_images(tiny_dataset)
    first = run_sweep(images, [codec_setting("fake-quantizer", [40])], progress=False)
    assert quantizer.encoded_qualities == [40.0] * 3
    marked = [{**r, "enc_s": -1.0} for r in first]
    saved = []
    rows = run_sweep(images, [codec_setting("fake-quantizer", [40, 90])], previous_rows=marked,
                     on_rows=lambda so_far: saved.append(len(so_far)), progress=False)
    assert quantizer.encoded_qualities == [40.0] * 3 + [90.0] * 3
    assert [r["enc_s"] for r in rows if r["quality"] == 40.0] == [-1.0] * 3
    assert saved == [4, 5, 6]  # one call per (image, codec) pair
    # Rows for other options are not reused.
    other = run_sweep(images[:1], [codec_setting("fake-quantizer", [40], {"x": 1})], previous_rows=marked, progress=False)
    assert other[0]["enc_s"] >= 0


def test_lossless_codec_gets_one_point_per_image(tiny_dataset, fake_codecs):  # noqa: F811
    rows = run_sweep(find_images(tiny_dataset), [codec_setting("fake-lossless")], progress=False)
    assert [r["quality"] for r in rows] == [None] * 3
    assert all(r["psnr-rgb"] == math.inf for r in rows)


def test_images_a_codec_cannot_store_are_skipped_with_a_warning(tmp_path):
    Image.new("RGBA", (20, 20), (1, 2, 3, 4)).save(tmp_path / "alpha.png")
    Image.new("RGB", (20, 20), (1, 2, 3)).save(tmp_path / "plain.png")
    with pytest.warns(UserWarning, match="skipped alpha.png: jpeg cannot store RGBA"):
        rows = run_sweep(find_images(tmp_path), [codec_setting("jpeg", [50])], progress=False)
    assert [r["image"] for r in rows] == ["plain.png"]


def test_rows_survive_json_and_csv(tiny_dataset, tmp_path):  # noqa: F811
    rows = run_sweep(find_images(tiny_dataset)[:1], [codec_setting("jpeg", [50])], progress=False)
    save_rows(rows, tmp_path / "rows.json", tmp_path / "rows.csv")
    assert json.loads((tmp_path / "rows.json").read_text())[0]["ms-ssim"] is None  # strict JSON
    back = load_rows(tmp_path / "rows.json")
    assert back[0]["bytes"] == rows[0]["bytes"] and math.isnan(back[0]["ms-ssim"])
    assert {k: v for k, v in back[0].items() if k != "ms-ssim"} == {k: v for k, v in rows[0].items() if k != "ms-ssim"}
    header, line = (tmp_path / "rows.csv").read_text().splitlines()
    assert header.split(",") == list(ROW_FIELDS)
    assert line.startswith(f"img0.png,jpeg,50.0,{rows[0]['bytes']},") and ",," in line  # empty MS-SSIM cell
    assert rows_to_csv(rows) == (tmp_path / "rows.csv").read_text()
    assert rows_to_json(rows) == (tmp_path / "rows.json").read_text()


def test_load_rows_refuses_other_files(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('[{"image": "a"}]')
    with pytest.raises(ConvpressError, match="does not hold convpress per-image results"):
        load_rows(path)


def test_workers_must_be_positive(tiny_dataset):  # noqa: F811
    with pytest.raises(ValueError, match="workers"):
        run_sweep(find_images(tiny_dataset), [CodecSetting("jpeg", (50.0,))], workers=0, progress=False)
