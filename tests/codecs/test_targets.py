"""Rate searches with preview encoders: the real encoder runs only where the previews point."""

from __future__ import annotations

import math

import pytest
from PIL import Image

from convpress.codecs.base import Codec
from convpress.codecs.targets import MAX_REAL_ENCODES, TOLERANCE, encode_to_target


class SizeModel(Codec):
    """A fake codec whose file of quality q has ``base * growth**q`` bytes.

    Its previews are larger by ``preview_factor``, a factor that changes by ``exp(drift)`` per quality step.
    """

    name = "size-model"

    def __init__(self, base: float = 800.0, growth: float = 1.04, preview_factor: float | None = 1.2, drift: float = 0.0) -> None:
        self.base, self.growth, self.preview_factor, self.drift = base, growth, preview_factor, drift
        self.real, self.previews = [], []

    def _file(self, quality: float, factor: float = 1.0) -> bytes:
        return bytes(int(round(self.base * factor * self.growth**quality)))

    def encode(self, image: Image.Image, quality: float = 75, **options) -> bytes:
        self.real.append(quality)
        return self._file(quality)

    def decode(self, data: bytes) -> Image.Image:
        raise NotImplementedError

    def preview_encoder(self, image, **options):
        if self.preview_factor is None:
            return None

        def preview(quality: float) -> bytes:
            self.previews.append(quality)
            return self._file(quality, self.preview_factor * math.exp(self.drift * (quality - 50)))

        return preview


IMAGE = Image.new("RGB", (10, 10))


@pytest.mark.parametrize("preview_factor", [0.7, 1.0, 1.2, 1.6])
def test_previews_locate_the_target_and_real_encodes_correct_for_their_offset(preview_factor):
    codec = SizeModel(preview_factor=preview_factor)
    result = encode_to_target(codec, IMAGE, target_size=20_000)
    exact = math.log(20_000 / 800) / math.log(1.04)
    assert result.reached and abs(result.achieved - 20_000) <= TOLERANCE * 20_000
    assert abs(result.quality - exact) < 1
    assert 1 <= len(codec.real) <= 2 and len(codec.previews) >= 4
    assert result.data == codec._file(result.quality)  # the file returned is a real encode, never a preview


def test_a_factor_that_drifts_with_quality_is_corrected_between_real_encodes():
    # As measured on an overfit Kodak crop: previews 1.4x the real size at quality 43, less above.
    codec = SizeModel(preview_factor=1.4, drift=-0.01)
    result = encode_to_target(codec, IMAGE, target_size=20_000)
    assert result.reached and len(codec.real) <= 3


def test_without_previews_the_search_encodes_for_real_throughout():
    codec = SizeModel(preview_factor=None)
    result = encode_to_target(codec, IMAGE, target_size=20_000)
    assert result.reached and len(codec.real) >= 4 and not codec.previews


def test_an_unreachable_target_ends_at_the_edge_within_the_real_encode_budget():
    codec = SizeModel(preview_factor=1.2)
    result = encode_to_target(codec, IMAGE, target_size=10**9)
    assert not result.reached and result.quality == 100
    assert len(codec.real) <= MAX_REAL_ENCODES
