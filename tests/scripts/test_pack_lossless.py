"""scripts/pack_lossless.py: the GPU lease's training photos travel bit-exact, within their byte budget."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from imagegen import natural_like

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pack_lossless.py"


def _pack_module():
    spec = importlib.util.spec_from_file_location("pack_lossless", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _photos(folder: Path, sizes: list[tuple[int, int]]) -> None:
    folder.mkdir()
    for index, (width, height) in enumerate(sizes):
        Image.fromarray(natural_like(height, width, 3, index)).save(folder / f"{index}.png")


def test_copies_are_lossless_and_halving_resizes(tmp_path):
    _photos(tmp_path / "src", [(96, 64)])
    pack = _pack_module()
    original = np.asarray(Image.open(tmp_path / "src" / "0.png"))
    (tmp_path / "same.webp").write_bytes(pack.lossless_webp(tmp_path / "src" / "0.png", 1.0))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "same.webp")), original)
    (tmp_path / "half.webp").write_bytes(pack.lossless_webp(tmp_path / "src" / "0.png", 0.5))
    assert Image.open(tmp_path / "half.webp").size == (48, 32)


def test_stops_at_the_budget_and_skips_photos_smaller_than_the_crop(tmp_path):
    _photos(tmp_path / "src", [(300, 260), (200, 200), (300, 260), (300, 260)])
    pack = _pack_module()
    one = len(pack.lossless_webp(tmp_path / "src" / "0.png", 1.0))
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "src"), str(tmp_path / "dest"),
                             "--budget", str(2 * one + one // 2)], capture_output=True, text=True, check=True)
    written = sorted(p.name for p in (tmp_path / "dest").iterdir())
    assert written == ["0.webp", "2.webp"]  # 1.png (200 px) is under the 256 px crop; 3.png is over budget
    assert sum((tmp_path / "dest" / name).stat().st_size for name in written) <= 2 * one + one // 2
    assert "2 photos" in result.stdout
