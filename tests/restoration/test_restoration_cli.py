"""The denoise, deblock, decode --enhance, train-restore and export-restore commands."""

import io

import numpy as np
import pytest
from PIL import Image

from convpress.cli import main
from convpress.restoration import inference

from restoration_helpers import SHIFT, shift_weights  # noqa: F401  (fixture)
from imagegen import natural_like


@pytest.fixture
def files(tmp_path):
    image = natural_like(40, 48, 3)
    Image.fromarray(image).save(tmp_path / "in.png")
    Image.fromarray(image).save(tmp_path / "in.jpg", quality=25)
    return tmp_path


def _error(capsys) -> str:
    return capsys.readouterr().err


def test_denoise_and_deblock_write_restored_pngs(files, shift_weights, capsys):
    assert main(["denoise", str(files / "in.png"), str(files / "d.png"), "--sigma", "20",
                 "--weights", str(shift_weights["denoise"])]) == 0
    assert "sigma 20" in capsys.readouterr().out
    expected = np.minimum(np.round(np.asarray(Image.open(files / "in.png")) + SHIFT), 255)
    assert np.array_equal(np.asarray(Image.open(files / "d.png")), expected)
    assert main(["deblock", str(files / "in.jpg"), str(files / "b.png"), "--weights", str(shift_weights["deblock"])]) == 0
    assert "JPEG quality 25 (from the file)" in capsys.readouterr().out
    assert Image.open(files / "b.png").size == (48, 40)


def test_blind_denoise_reports_the_estimated_sigma(files, shift_weights, capsys):
    assert main(["denoise", str(files / "in.png"), str(files / "d.png"), "--weights", str(shift_weights["denoise"])]) == 0
    assert "(estimated)" in capsys.readouterr().out


def test_decode_enhance_deblocks_with_the_shipped_weights(files, shift_weights, monkeypatch, capsys):
    monkeypatch.setattr(inference, "WEIGHTS_DIR", shift_weights["deblock"].parent)
    shift_weights["deblock"].rename(inference.default_weights("deblock"))
    assert main(["decode", str(files / "in.jpg"), str(files / "e.png"), "--enhance"]) == 0
    decoded = np.asarray(Image.open(files / "in.jpg").convert("RGB")).astype(float)
    assert np.array_equal(np.asarray(Image.open(files / "e.png")), np.minimum(np.round(decoded + SHIFT), 255))


@pytest.mark.parametrize("command, message", [
    (["deblock", "{d}/in.png", "{d}/o.png", "--weights", "{w}"], "not a JPEG file"),
    (["decode", "{d}/in.png", "{d}/o.png", "--enhance"], "--enhance removes JPEG artifacts"),
    (["denoise", "{d}/in.png", "{d}/o.png", "--sigma", "80", "--weights", "{w}"], "sigma must be between 0 and 75"),
    (["denoise", "{d}/in.png", "{d}/o.png", "--sigma", "-1", "--weights", "{w}"], "sigma must be between 0 and 75"),
    (["denoise", "{d}/in.png", "{d}/o.png", "--weights", "{d}/absent.safetensors"], "no denoise weights at"),
    (["deblock", "{d}/in.jpg", "{d}/o.png", "--weights", "{d}/absent.safetensors"], "no deblock weights at"),
    (["deblock", "{d}/in.jpg", "{d}/o.jpg", "--weights", "{w}"], "decode writes lossless images"),
    (["denoise", "{d}/missing.png", "{d}/o.png", "--weights", "{w}"], "cannot read"),
])
def test_user_errors_exit_2_with_a_clear_message(files, shift_weights, capsys, command, message):
    args = [part.format(d=files, w=shift_weights["denoise"]) for part in command]
    assert main(args) == 2
    assert message in _error(capsys)
    assert not (files / "o.png").exists()


def test_train_export_and_use_a_tiny_model(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for seed in range(2):
        Image.fromarray(natural_like(64, 64, 3, seed)).save(data / f"{seed}.png")
    train = ["train-restore", "--task", "deblock", "--data", str(data), "--name", "tiny", "--runs-dir", str(tmp_path),
             "--preset", "restore-tiny", "--batch-size", "2", "--crop", "32", "--final-crop", "32", "--threads", "1"]
    assert main([*train, "--steps", "3"]) == 0
    assert main([*train, "--resume", "--steps", "5"]) == 0  # a resumed run may be lengthened
    weights = tmp_path / "w.safetensors"
    assert main(["export-restore", str(tmp_path / "tiny" / "checkpoint.pt"), str(weights)]) == 0
    assert inference.load_model("deblock", weights).config["widths"] == [8, 16]
    buffer = io.BytesIO()
    Image.fromarray(natural_like(24, 40, 1)).save(buffer, format="JPEG", quality=50)
    (tmp_path / "g.jpg").write_bytes(buffer.getvalue())
    assert main(["deblock", str(tmp_path / "g.jpg"), str(tmp_path / "g.png"), "--weights", str(weights)]) == 0
    assert Image.open(tmp_path / "g.png").mode == "L"
    assert main([*train, "--crop", "40", "--name", "bad"]) == 2
    assert "multiples of 16" in _error(capsys)
