"""Fuzzing the learned decoder: damaged files give CorruptDataError, never a hang, crash or wrong image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from convpress.codecs.learned import LearnedCodec
from convpress.coding.container import CpzHeader, pack, unpack
from convpress.errors import ConvpressError, CorruptDataError, UnsupportedImageError
from convpress.models.compression import ModelTables
from convpress.models.loading import save_model_file
from convpress.zoo import create_model
from imagegen import natural_like

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def codec_and_file(tmp_path_factory):
    torch.manual_seed(3)
    model = create_model("cp-tiny").eval()
    path = tmp_path_factory.mktemp("fuzz") / "tiny.safetensors"
    save_model_file(path, "cp-tiny", model, ModelTables.build(model))
    codec = LearnedCodec(model=str(path))
    image = Image.fromarray(natural_like(64, 64, 3, 11), "RGB")
    return codec, codec.encode(image, quality=90)


@FUZZ
@given(data=st.data())
def test_damaged_bytes_are_refused(codec_and_file, data):
    codec, good = codec_and_file
    damaged = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(damaged)))
    candidate = bytes(damaged[:cut])
    if candidate == good:
        return
    with pytest.raises(ConvpressError):
        codec.decode(candidate)


@FUZZ
@given(stream=st.binary(min_size=0, max_size=400), flip=st.integers(0, 2**31))
def test_damaged_streams_with_valid_container_are_caught_by_the_symbol_checksum(codec_and_file, stream, flip):
    """Streams re-packed with a correct file CRC: only the decoded-symbol checksum can tell."""
    codec, good = codec_and_file
    header, streams = unpack(good)
    if stream == streams[0]:
        return
    with pytest.raises(CorruptDataError):
        codec.decode(pack(header, [stream]))


def test_header_claiming_a_huge_image_is_refused_before_allocating(codec_and_file):
    codec, good = codec_and_file
    header, streams = unpack(good)
    fields = {name: getattr(header, name) for name in header.__dataclass_fields__}
    fields.update(width=1_000_000, height=1000)
    with pytest.raises(UnsupportedImageError, match="megapixels"):
        codec.decode(pack(CpzHeader(**fields), streams))


def test_random_files_are_refused(codec_and_file):
    codec, _ = codec_and_file
    rng = np.random.default_rng(0)
    for size in (0, 1, 7, 40, 500):
        with pytest.raises(ConvpressError):
            codec.decode(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
