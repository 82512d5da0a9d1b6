"""Test doubles and fixtures of the evaluation tests: fake codecs, a tiny data set, the anchors.

Test modules import the fixtures they use from here (helper modules have unique names: pytest
puts every test folder on sys.path, so two modules of one name would shadow each other).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from imagegen import natural_like
from PIL import Image

from convpress.codecs import Codec, registry

ANCHORS = Path(__file__).resolve().parents[2].parent / "shared" / "anchors" / "compressai" / "image" / "kodak"


class QuantizingCodec(Codec):
    """A lossy test codec: pixels rounded to a step that shrinks as quality grows, stored as PNG.

    It records every quality it encodes at, so tests can tell what was (re)computed.
    """

    name = "fake-quantizer"
    description = "test codec"
    extensions = (".fakeq",)
    modes = frozenset({"L", "RGB"})
    encoded_qualities: list[float] = []

    def encode(self, image: Image.Image, quality: float = 75.0, **options) -> bytes:
        self.check_mode(image)
        self.encoded_qualities.append(quality)
        step = max(1, int(round((101 - quality) / 4)))
        array = (np.asarray(image).astype(np.int32) // step) * step + step // 2
        buffer = io.BytesIO()
        Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), image.mode).save(buffer, format="PNG")
        return buffer.getvalue()

    def decode(self, data: bytes) -> Image.Image:
        return Image.open(io.BytesIO(data)).copy()


class LosslessFakeCodec(QuantizingCodec):
    """A codec without a quality scale, like PNG."""

    name = "fake-lossless"
    lossy = False
    lossless = True

    def encode(self, image: Image.Image, quality: float = 75.0, **options) -> bytes:
        return super().encode(image, 100.0)


def write_tiny_dataset(folder: Path, count: int = 3) -> Path:
    """``count`` small RGB PNGs (too small for MS-SSIM) and a non-image file in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        Image.fromarray(natural_like(40, 56, 3, seed=index), "RGB").save(folder / f"img{index}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture
def fake_codecs(monkeypatch) -> tuple[type[QuantizingCodec], type[LosslessFakeCodec]]:
    """Register the fake codecs for one test (in this process only: use workers=1)."""
    registry.codec_names()  # load the real codecs first
    monkeypatch.setitem(registry._CODECS, QuantizingCodec.name, QuantizingCodec)
    monkeypatch.setitem(registry._CODECS, LosslessFakeCodec.name, LosslessFakeCodec)
    monkeypatch.setattr(QuantizingCodec, "encoded_qualities", [])
    return QuantizingCodec, LosslessFakeCodec


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return write_tiny_dataset(tmp_path / "data")


@pytest.fixture(scope="session")
def anchors_dir() -> Path:
    if not ANCHORS.is_dir():
        pytest.skip("published CompressAI anchors not present")
    return ANCHORS
