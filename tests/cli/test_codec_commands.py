"""``convpress encode``, ``decode`` and ``codecs``, run in-process through ``main``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from imagegen import natural_like
from PIL import Image

from convpress.cli import main
from convpress.codecs import get_codec

SRC_DIR = Path(__file__).resolve().parents[2] / "src"
CODEC_FOR_EXTENSION = {
    ".jpg": "jpeg",
    ".png": "png",
    ".webp": "webp",
    ".jp2": "jpeg2000",
    ".avif": "avif",
    ".jxl": "jpegxl",
    ".heic": "heic",
}
FAST = {"heic": ["--option", "preset=ultrafast"]}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A small RGB PNG to compress."""
    path = tmp_path / "source.png"
    Image.fromarray(natural_like(40, 56, 3), "RGB").save(path)
    return path


def run(*args: object) -> int:
    return main([str(arg) for arg in args])


def assert_user_error(capsys, code: int, message: str) -> None:
    """Exit 2 with one ``convpress: error: ...`` line containing ``message`` and no traceback."""
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("convpress: error: ") and captured.err.count("\n") == 1
    assert message in captured.err


def files_in(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


@pytest.mark.parametrize(("extension", "codec"), sorted(CODEC_FOR_EXTENSION.items()))
def test_encode_infers_the_codec_from_the_extension_and_decode_from_the_content(
    tmp_path, source, capsys, extension, codec
):
    compressed = tmp_path / f"out{extension}"
    assert run("encode", source, compressed, *FAST.get(codec, [])) == 0
    assert get_codec(codec).sniff(compressed.read_bytes())
    assert f"{compressed}: {codec}, {compressed.stat().st_size} bytes" in capsys.readouterr().out

    renamed = compressed.rename(tmp_path / "no_extension")  # decode must not rely on the name
    decoded = tmp_path / "decoded.png"
    assert run("decode", renamed, decoded) == 0
    assert f"56x40 RGB (from {codec})" in capsys.readouterr().out
    with Image.open(decoded) as image:
        assert image.format == "PNG" and image.size == (56, 40) and image.mode == "RGB"


def test_codec_option_overrides_the_extension(tmp_path, source):
    output = tmp_path / "picture.bin"
    assert run("encode", source, output, "--codec", "WebP") == 0
    assert output.read_bytes()[8:12] == b"WEBP"


def test_quality_reaches_the_codec(tmp_path, source):
    sizes = {}
    for quality in (20, 90):
        output = tmp_path / f"q{quality}.jpg"
        assert run("encode", source, output, "--quality", quality) == 0
        sizes[quality] = output.stat().st_size
    assert sizes[20] < sizes[90]
    default = tmp_path / "default.jpg"
    run("encode", source, default)
    assert default.read_bytes() == get_codec("jpeg").encode(Image.open(source), 75)


def test_lossless_round_trip_through_files_is_exact(tmp_path, source):
    compressed, decoded = tmp_path / "exact.jxl", tmp_path / "exact.png"
    assert run("encode", source, compressed, "--lossless") == 0
    assert run("decode", compressed, decoded) == 0
    assert np.array_equal(np.asarray(Image.open(decoded)), np.asarray(Image.open(source)))


def test_repeatable_options_reach_the_codec(tmp_path, source):
    output = tmp_path / "chroma.avif"
    assert run("encode", source, output, "-o", "subsampling=4:4:4", "--option", "speed = 9") == 0
    expected = get_codec("avif").encode(Image.open(source), 75, subsampling="4:4:4", speed=9)
    assert output.read_bytes() == expected


def test_decode_can_write_any_lossless_format(tmp_path, source):
    compressed, decoded = tmp_path / "in.jpg", tmp_path / "out.webp"
    run("encode", source, compressed)
    assert run("decode", compressed, decoded) == 0
    jpeg_pixels = get_codec("jpeg").decode(compressed.read_bytes())
    assert np.array_equal(np.asarray(get_codec("webp").decode(decoded.read_bytes())), np.asarray(jpeg_pixels))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--codec", "gif"], "unknown codec 'gif'; known codecs: avif, heic, jpeg"),
        (["--quality", "0"], "quality must be between 1 and 100, got 0"),
        (["--quality", "101"], "quality must be between 1 and 100, got 101"),
        (["--lossless", "--codec", "avif"], "avif has no lossless mode"),
        (["--lossless", "--quality", "50", "--codec", "webp"], "webp ignores quality in lossless mode; drop --quality"),
        (["--quality", "50", "--codec", "png"], "png is lossless only; drop --quality"),
        (["--option", "speed=4", "--codec", "jpeg"], "jpeg has no option speed (its options: subsampling)"),
        (["--option", "subsampling=4:1:1", "--codec", "jpeg"], "option subsampling must be one of"),
        (["-o", "speed=3", "-o", "speed=4", "--codec", "avif"], "option speed given more than once"),
    ],
)
def test_bad_encode_settings_exit_2_without_writing(tmp_path, source, capsys, arguments, message):
    output = tmp_path / "out.jpg"
    assert_user_error(capsys, run("encode", source, output, *arguments), message)
    assert files_in(tmp_path) == {"source.png"}


def test_output_extension_without_codec_is_refused(tmp_path, source, capsys):
    code = run("encode", source, tmp_path / "out.xyz")
    assert_user_error(capsys, code, "cannot infer a codec from 'out.xyz'; pass --codec (one of avif, heic")


@pytest.mark.parametrize("arguments", [["--quality", "high"], ["--option", "speed"], ["--option", "=4"]])
def test_malformed_arguments_are_argparse_usage_errors(tmp_path, source, capsys, arguments):
    with pytest.raises(SystemExit) as exit_info:
        run("encode", source, tmp_path / "out.avif", *arguments)
    assert exit_info.value.code == 2
    assert "usage: convpress encode" in capsys.readouterr().err


def test_missing_input_exits_2(tmp_path, capsys):
    code = run("encode", tmp_path / "absent.png", tmp_path / "out.jpg")
    assert_user_error(capsys, code, f"no such file: {tmp_path / 'absent.png'}")
    assert_user_error(capsys, run("decode", tmp_path / "absent.jxl", tmp_path / "out.png"), "cannot read")


def test_unreadable_image_exits_2(tmp_path, capsys):
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    assert_user_error(capsys, run("encode", garbage, tmp_path / "out.jpg"), "cannot read image")
    assert not (tmp_path / "out.jpg").exists()


def test_image_the_codec_cannot_store_exits_2(tmp_path, capsys):
    rgba = tmp_path / "alpha.png"
    Image.new("RGBA", (8, 8), (1, 2, 3, 4)).save(rgba)
    code = run("encode", rgba, tmp_path / "out.jpg")
    assert_user_error(capsys, code, "jpeg cannot store RGBA images (it accepts L, RGB)")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a file of any supported format"),
        (b"\x00\x01\x02 no format at all" * 10, "not a file of any supported format"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 garbage", "webp: "),
    ],
)
def test_decoding_corrupt_or_unknown_data_exits_2(tmp_path, capsys, content, message):
    broken = tmp_path / "broken.bin"
    broken.write_bytes(content)
    assert_user_error(capsys, run("decode", broken, tmp_path / "out.png"), message)
    assert files_in(tmp_path) == {"broken.bin"}


def test_decoding_a_truncated_file_exits_2(tmp_path, source, capsys):
    compressed = tmp_path / "cut.heic"
    run("encode", source, compressed, *FAST["heic"])
    compressed.write_bytes(compressed.read_bytes()[:300])
    assert_user_error(capsys, run("decode", compressed, tmp_path / "out.png"), "heic: not a valid heic file")


def test_empty_file_with_a_known_extension_is_reported_for_that_codec(tmp_path, capsys):
    empty = tmp_path / "empty.jxl"
    empty.write_bytes(b"")
    assert_user_error(capsys, run("decode", empty, tmp_path / "out.png"), "jpegxl: empty input")


def test_decode_refuses_a_lossy_output_format(tmp_path, source, capsys):
    compressed = tmp_path / "in.webp"
    run("encode", source, compressed)
    code = run("decode", compressed, tmp_path / "out.jpg")
    assert_user_error(capsys, code, "decode writes lossless images: use a .png output, not '.jpg'")


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_existing_output_is_kept_without_force_and_replaced_with_it(tmp_path, source, capsys, command):
    compressed = tmp_path / "in.jpg"
    run("encode", source, compressed)
    input_file = source if command == "encode" else compressed
    output = tmp_path / "existing.png"
    output.write_bytes(b"precious")

    assert_user_error(capsys, run(command, input_file, output), f"{output} exists; use --force to overwrite it")
    assert output.read_bytes() == b"precious"

    assert run(command, input_file, output, "--force") == 0
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failed_write_leaves_no_partial_file(tmp_path, source, capsys, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    code = run("encode", source, tmp_path / "out.webp")
    assert_user_error(capsys, code, f"cannot write {tmp_path / 'out.webp'}: No space left on device")
    assert files_in(tmp_path) == {"source.png"}


def test_missing_output_directory_exits_2(tmp_path, source, capsys):
    code = run("encode", source, tmp_path / "missing" / "out.jpg")
    assert_user_error(capsys, code, "output directory")


def test_outputs_are_created_with_the_usual_permissions(tmp_path, source):
    previous = os.umask(0o022)
    try:
        output = tmp_path / "shared.jpg"
        run("encode", source, output)
    finally:
        os.umask(previous)
    assert output.stat().st_mode & 0o777 == 0o644


def test_codecs_lists_every_codec_with_its_kind_and_options(capsys):
    assert run("codecs") == 0
    lines = capsys.readouterr().out.splitlines()
    listed = {line.split()[0]: line.split()[1] for line in lines if not line.startswith(" ")}
    expected = {
        "avif": "lossy",
        "heic": "lossy+lossless",
        "jpeg": "lossy",
        "jpeg2000": "lossy+lossless",
        "jpegxl": "lossy+lossless",
        "png": "lossless",
        "webp": "lossy+lossless",
    }
    assert {name: listed.get(name) for name in expected} == expected
    assert any("--option speed=6 (0-10)" in line for line in lines)
    assert any("--option subsampling=4:2:0 (4:4:4|4:2:2|4:2:0)" in line for line in lines)


def test_python_dash_m_reports_errors_without_traceback(tmp_path):
    broken = tmp_path / "broken.avif"
    broken.write_bytes(b"\x00\x00\x00\x1cftypavif" + b"\x00" * 40)
    environment = {**os.environ, "PYTHONPATH": str(SRC_DIR)}
    result = subprocess.run(
        [sys.executable, "-m", "convpress", "decode", str(broken), str(tmp_path / "out.png")],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("convpress: error: avif: ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.png").exists()
