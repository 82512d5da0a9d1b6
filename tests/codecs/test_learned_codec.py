"""The learned codec end to end on a small model: real files that decode identically anywhere."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from convpress.codecs import learned
from convpress.codecs.learned import Encoding, LearnedCodec, decode_cpz
from convpress.codecs.targets import encode_to_target
from convpress.coding.container import unpack
from convpress.errors import CorruptDataError, UnsupportedImageError
from convpress.models.compression import ModelTables
from convpress.models.gain import quality_to_level
from convpress.models.loading import load_model_file, save_model_file
from convpress.zoo import create_model
from imagegen import natural_like


@pytest.fixture(scope="module")
def model_path(tiny_codec_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_model_file(path, "cp-tiny", tiny_codec_model, ModelTables.build(tiny_codec_model))
    return str(path)


@pytest.fixture(scope="module")
def codec(model_path):
    return LearnedCodec(model=model_path)


def _image(mode: str, height: int, width: int, seed: int = 0) -> Image.Image:
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    return Image.fromarray(natural_like(height, width, channels, seed), mode)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
@pytest.mark.parametrize("size", [(1, 1), (3, 7), (17, 100), (70, 130)])
def test_round_trip_any_size_and_mode(codec, mode, size):
    image = _image(mode, *size)
    decoded = codec.decode(codec.encode(image, quality=60))
    assert decoded.mode == mode and decoded.size == image.size
    if mode == "RGBA":  # alpha is lossless
        assert np.array_equal(np.asarray(decoded)[:, :, 3], np.asarray(image)[:, :, 3])


def test_file_is_header_plus_streams_and_rate_matches_estimate(codec, model_path):
    image = _image("RGB", 256, 384, seed=2)
    data = codec.encode(image, quality=80)
    header, streams = unpack(data)
    header_size = len(data) - sum(len(s) for s in streams)
    assert 20 < header_size < 80
    loaded = load_model_file(model_path)
    encoding = Encoding(loaded, image)
    gain, _ = loaded.model.gain.gains(torch.tensor([quality_to_level(80, loaded.model.levels)]))
    with torch.inference_mode():
        coded, _ = loaded.codec.encode_latents(encoding.raw_latents * gain)
    assert coded.stream == streams[0]
    assert abs(8 * len(streams[0]) - coded.estimated_bits) <= 0.02 * coded.estimated_bits + 64


def test_higher_quality_gives_bigger_files(codec):
    image = _image("RGB", 128, 128, seed=3)
    sizes = [len(codec.encode(image, quality=q)) for q in (1, 50, 100)]
    assert sizes[0] < sizes[1] < sizes[2]


def test_decoding_is_bit_exact_across_threads_and_onednn(codec):
    data = codec.encode(_image("RGB", 96, 160, seed=4), quality=70)
    threads = torch.get_num_threads()
    outputs = []
    try:
        for count in (1, 2):
            for onednn in (True, False):
                torch.set_num_threads(count)
                with torch.backends.mkldnn.flags(enabled=onednn):
                    outputs.append(np.asarray(codec.decode(data)))
    finally:
        torch.set_num_threads(threads)
    assert all(np.array_equal(outputs[0], other) for other in outputs[1:])


def test_decoding_is_bit_exact_in_a_fresh_process(codec, model_path, tmp_path):
    data = codec.encode(_image("RGB", 64, 128, seed=5), quality=40)
    (tmp_path / "x.cpz").write_bytes(data)
    code = (
        "import sys, numpy as np\n"
        "from convpress.codecs.learned import decode_cpz\n"
        "image = decode_cpz(open(sys.argv[1], 'rb').read(), sys.argv[2])\n"
        "np.save(sys.argv[3], np.asarray(image))\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.cpz"), model_path, str(tmp_path / "x.npy")], check=True)
    assert np.array_equal(np.load(tmp_path / "x.npy"), np.asarray(codec.decode(data)))


def test_corrupt_streams_are_reported_not_decoded(codec):
    data = bytearray(codec.encode(_image("RGB", 64, 64, seed=6), quality=50))
    for position in (len(data) - 1, len(data) // 2, 10):
        damaged = bytearray(data)
        damaged[position] ^= 0x55
        with pytest.raises(CorruptDataError):
            codec.decode(bytes(damaged))
    with pytest.raises(CorruptDataError):
        codec.decode(bytes(data[: len(data) // 2]))


def test_file_from_other_weights_is_refused(codec, tmp_path):
    torch.manual_seed(1)
    other = create_model("cp-tiny").eval()
    other_path = tmp_path / "other.safetensors"
    save_model_file(other_path, "cp-tiny", other, ModelTables.build(other))
    data = codec.encode(_image("RGB", 64, 64), quality=50)
    with pytest.raises(Exception, match="other weights"):
        decode_cpz(data, str(other_path))


def test_tiled_coding_equals_untiled(codec, model_path):
    from convpress.codecs.learned import Encoding

    loaded = load_model_file(model_path)
    image = _image("RGB", 200, 260, seed=7)
    whole = Encoding(loaded, image)
    tiled = Encoding(loaded, image, tile=8)  # 128-pixel tiles
    assert torch.allclose(whole.raw_latents, tiled.raw_latents, atol=1e-4)
    assert unpack(tiled.encode(50))[1] == unpack(whole.encode(50))[1]  # same streams, only the header says "tiled"
    y_hat = torch.round(whole.raw_latents)
    with torch.inference_mode():
        untiled = loaded.codec.synthesize(y_hat, 3.0, tile=64)
        tiled_out = loaded.codec.synthesize(y_hat, 3.0, tile=4)
    assert torch.allclose(untiled, tiled_out, atol=1e-4)


def test_a_file_from_a_model_file_decodes_without_naming_it_again(codec, model_path):
    """Weights loaded from a path (a candidate under evaluation) are found again by their hash."""
    data = codec.encode(_image("RGB", 40, 60, seed=5), quality=50)
    assert np.array_equal(np.asarray(LearnedCodec().decode(data)), np.asarray(codec.decode(data)))


def test_only_the_images_own_latents_are_coded(codec, model_path, monkeypatch):
    """A 33x70 image pads to 48x80: 3x5 latents are coded, not the 4x8 grid of its hyper-latents."""
    from convpress.coding.rangecoder import SymbolEncoder

    counts = []
    original = SymbolEncoder.encode
    monkeypatch.setattr(SymbolEncoder, "encode", lambda self, symbols, *args: counts.append(symbols.size) or original(self, symbols, *args))
    data = codec.encode(_image("RGB", 33, 70, seed=4), quality=50)
    config = load_model_file(model_path).model.config
    assert counts[0] == config["hyper"] * 1 * 2  # z: ceil(3/4) x ceil(5/4)
    assert sum(counts[1:]) == config["latent"] * 3 * 5  # anchors + non-anchors of the 3x5 latents
    assert codec.decode(data).size == (70, 33)


@pytest.mark.parametrize("band_rows", [1, 4, 12])
def test_banded_entropy_stage_codes_the_same_bytes(codec, monkeypatch, band_rows):
    """Banding the fixed-point entropy stage (to bound its memory) must not change one bit."""
    import convpress.models.compression as compression

    image = _image("RGB", 330, 200, seed=9)  # 384x256 padded: 24 latent rows, 6 hyper-latent rows
    whole = codec.encode(image, quality=70)
    monkeypatch.setattr(compression, "BAND_ROWS", band_rows)
    banded = codec.encode(image, quality=70)
    assert banded == whole
    assert np.array_equal(np.asarray(codec.decode(banded)), np.asarray(codec.decode(whole)))


def test_target_bpp_lands_within_three_percent(codec):
    image = _image("RGB", 128, 192, seed=8)
    low, high = (8 * len(codec.encode(image, quality=q)) / (128 * 192) for q in (1, 100))
    target = (low + high) / 2
    result = encode_to_target(codec, image, target_bpp=target)
    bpp = 8 * len(result.data) / (128 * 192)
    assert result.reached and abs(bpp - target) <= 0.03 * target


def test_unreachable_target_returns_the_closest_end(codec):
    image = _image("RGB", 64, 64, seed=9)
    result = encode_to_target(codec, image, target_bpp=50.0)
    best_possible = 8 * len(codec.encode(image, quality=100)) / (64 * 64)
    assert not result.reached and result.achieved == best_possible


def test_refined_latents_lower_the_real_rate_distortion_cost(codec, model_path):
    """``refine=N`` changes only the encoder: the file decodes as any other, at a lower lambda*D + R."""
    image = _image("RGB", 48, 80, seed=4)
    pixels = np.asarray(image, dtype=np.float64) / 255
    lmbda = float(load_model_file(model_path).model.gain.lmbda(torch.tensor([quality_to_level(60, 8)])))

    def cost(data: bytes) -> float:
        decoded = np.asarray(codec.decode(data), dtype=np.float64) / 255
        return lmbda * 255**2 * np.mean((decoded - pixels) ** 2) + 8 * len(data) / (48 * 80)

    plain, refined = codec.encode(image, quality=60), codec.encode(image, quality=60, refine=30)
    assert refined != plain
    assert cost(refined) < 0.97 * cost(plain)
    assert codec.encode(image, quality=60, refine=30) == refined  # the same file every time


def test_refinement_of_a_too_large_image_is_refused_before_any_work(codec, monkeypatch):
    monkeypatch.setattr(learned, "prepare", lambda image: pytest.fail("the image was prepared"))
    with pytest.raises(UnsupportedImageError, match="up to 4 megapixels"):
        codec.encode(Image.new("RGB", (2500, 1700)), quality=50, refine=1)
