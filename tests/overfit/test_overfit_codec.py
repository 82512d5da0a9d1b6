"""The overfit codec end to end on tiny images with a handful of iterations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from convpress.cli import main
from convpress.codecs import codec_for_data, get_codec
from convpress.codecs.learned import LearnedCodec
from convpress.codecs.overfit import OverfitCodec, encode_image, quality_to_lambda
from convpress.coding.container import CpzHeader, ModelFamily, pack, unpack
from convpress.errors import CodecUnavailableError, CorruptDataError, InvalidParameterError
from convpress.overfit.bitstream import LAYOUT_VERSION
from convpress.overfit.encoder import fit
from convpress.overfit.laplace import zero_mean_bits
from convpress.overfit.prior import installed_priors, shipped_prior
from imagegen import natural_like

ITERATIONS = 30
DATA = Path(__file__).parent / "data"


def _image(mode: str, height: int = 32, width: int = 48, seed: int = 0) -> Image.Image:
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    return Image.fromarray(natural_like(height, width, channels, seed), mode)


@pytest.fixture(scope="module")
def encoded():
    """(image, file, fit result) of a 32x48 RGB image."""
    image = _image("RGB")
    data, result = encode_image(image, 60, ITERATIONS, threads=1)
    return image, data, result


def test_decoding_gives_exactly_the_encoders_reconstruction(encoded):
    image, data, result = encoded
    decoded = OverfitCodec().decode(data)
    assert decoded.mode == "RGB" and decoded.size == image.size
    assert np.array_equal(np.asarray(decoded), result.reconstruction)
    symbols = unpack(data)[1][1]
    assert 8 * len(symbols) == pytest.approx(result.estimated_bits, rel=0.05, abs=64)


def test_decoding_is_identical_with_one_or_two_threads_and_without_onednn(encoded):
    _, data, result = encoded
    threads = torch.get_num_threads()
    decoded = []
    try:
        for count in (1, 2):
            for onednn in (True, False):
                torch.set_num_threads(count)
                with torch.backends.mkldnn.flags(enabled=onednn):
                    decoded.append(np.asarray(OverfitCodec().decode(data)))
    finally:
        torch.set_num_threads(threads)
    assert all(np.array_equal(result.reconstruction, other) for other in decoded)


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_gray_and_rgba_round_trip(mode):
    image = _image(mode, 16, 24, seed=1)
    data, result = encode_image(image, 50, 5, threads=1)
    decoded = OverfitCodec().decode(data)
    assert decoded.mode == mode and decoded.size == image.size
    colour = np.asarray(decoded)[:, :, :3] if mode == "RGBA" else np.asarray(decoded)[:, :, None]
    assert np.array_equal(colour, result.reconstruction)
    if mode == "RGBA":
        assert np.array_equal(np.asarray(decoded)[:, :, 3], np.asarray(image)[:, :, 3])


def test_sniffing_tells_overfitted_from_learned_cpz_files(encoded):
    _, data, _ = encoded
    assert OverfitCodec.sniff(data) and not LearnedCodec.sniff(data)
    assert codec_for_data(data).name == "overfit"
    header, streams = unpack(data)
    learned_header = CpzHeader(**{**header.__dict__, "family": ModelFamily.LEARNED_AUTOENCODER})
    learned_file = pack(learned_header, streams)
    assert LearnedCodec.sniff(learned_file) and not OverfitCodec.sniff(learned_file)
    with pytest.raises(CodecUnavailableError, match="written by the learned codec"):
        OverfitCodec().decode(learned_file)


def test_networks_are_coded_relative_to_the_prior_named_in_the_header(encoded):
    _, data, result = encoded
    header = unpack(data)[0]
    assert header.weights_hash == shipped_prior().weights_hash and unpack(data)[1][0][0] == LAYOUT_VERSION == 5
    networks = result.networks
    groups = networks.architecture.groups()
    relative = sum(zero_mean_bits(networks.coded_values(group)).min() for group in groups)
    whole = sum(zero_mean_bits(networks.values[group].reshape(-1)).min() for group in groups)
    assert relative < 0.7 * whole  # 30 iterations move the networks only a little from the prior


def test_a_file_coded_against_a_prior_that_is_not_installed_is_refused(encoded, monkeypatch):
    _, data, _ = encoded
    prior = shipped_prior()
    monkeypatch.setattr("convpress.codecs.overfit.installed_priors", lambda: {bytes(range(8)): prior})
    with pytest.raises(CodecUnavailableError, match=f"prior \\(hash {prior.weights_hash.hex()}\\) that is not installed"):
        OverfitCodec().decode(data)
    monkeypatch.setattr("convpress.codecs.overfit.installed_priors", lambda: {})
    with pytest.raises(CodecUnavailableError, match="that is not installed"):
        OverfitCodec().decode(data)


@pytest.mark.parametrize(("name", "layout"), [("layout4-24x40", 4), ("layout3-24x40", 3), ("layout2-16x16", 2)])
def test_files_of_earlier_stream_layouts_still_decode(name, layout):
    """Written by earlier versions: networks quantized per network and kind (layouts 2 to 4), rows
    decoded in one step (2 and 3), networks coded against the current prior (4), the earlier prior
    (3, which is kept for them) or whole (2); the PNGs are what they decoded."""
    data = (DATA / f"{name}.cpz").read_bytes()
    header, streams = unpack(data)
    assert streams[0][0] == layout and (header.weights_hash in installed_priors()) == (layout >= 3)
    expected = np.asarray(Image.open(DATA / f"{name}.png"))
    assert np.array_equal(np.asarray(OverfitCodec().decode(data)), expected)


def test_a_file_from_random_networks_is_coded_whole_and_needs_no_prior(monkeypatch):
    image = _image("RGB", 16, 16, seed=6)
    data, result = encode_image(image, 60, 10, threads=1, start="random")
    assert unpack(data)[0].weights_hash == bytes(8)
    monkeypatch.setattr("convpress.codecs.overfit.installed_priors", lambda: {})
    assert np.array_equal(np.asarray(OverfitCodec().decode(data)), result.reconstruction)


def _repacked(data: bytes, **changes) -> bytes:
    """The file with some streams replaced (and a valid file CRC)."""
    header, streams = unpack(data)
    for index, stream in changes.items():
        streams[int(index[1:])] = stream
    return pack(header, streams)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d[: len(d) // 2], "truncated"),
        (lambda d: d[:12], "truncated"),
        (lambda d: _repacked(d, s0=b"\x01" + unpack(d)[1][0][1:]), "layout 1 is not supported .this convpress reads 2, 3, 4 and 5."),
        (lambda d: _repacked(d, s0=unpack(d)[1][0][:-1]), "18 bytes of parameter groups, expected 19"),
        (lambda d: _repacked(d, s0=unpack(d)[1][0][:3]), "configuration of 3 bytes"),
        (lambda d: _repacked(d, s0=unpack(d)[1][0][:5] + b"\xff" * 19), "invalid exponent or table"),
        (lambda d: _repacked(d, s0=b"\x02\x00" + unpack(d)[1][0][2:]), "architecture out of range"),
        (lambda d: _repacked(d, s1=unpack(d)[1][1][:-8]), "corrupt|checksum"),
        (lambda d: _repacked(d, s1=bytes(b ^ 0x5A for b in unpack(d)[1][1])), "corrupt|checksum|too large"),
        (lambda d: pack(unpack(d)[0], unpack(d)[1][:1]), "expected 2 streams"),
    ],
)
def test_damaged_files_raise_corrupt_data_error(encoded, damage, message):
    _, data, _ = encoded
    with pytest.raises(CorruptDataError, match=message):
        OverfitCodec().decode(damage(data))


def test_flipped_bytes_decode_or_raise_corrupt_data_error(encoded):
    _, data, _ = encoded
    header, streams = unpack(data)
    rng = np.random.default_rng(5)
    for _ in range(10):
        symbols = bytearray(streams[1])
        symbols[int(rng.integers(0, len(symbols)))] ^= int(rng.integers(1, 256))
        try:
            OverfitCodec().decode(pack(header, [streams[0], bytes(symbols)]))
        except CorruptDataError:
            continue


def _loss(image: Image.Image, quality: float, iterations: int) -> float:
    """The rate-distortion loss of the coded file: MSE of what decodes plus lambda * bpp."""
    data, result = encode_image(image, quality, iterations, threads=1)
    pixels = np.asarray(image)
    return result.mse(pixels) + quality_to_lambda(quality) * 8 * len(data) / (image.width * image.height)


def test_more_iterations_give_a_lower_loss():
    image = _image("RGB", 24, 32, seed=3)
    assert _loss(image, 50, 60) < 0.9 * _loss(image, 50, 6)


def test_higher_quality_gives_a_bigger_file_and_a_higher_psnr():
    image = _image("RGB", 32, 32, seed=4)
    results = {q: encode_image(image, q, ITERATIONS, threads=1) for q in (20, 90)}
    sizes = {q: len(data) for q, (data, _) in results.items()}
    errors = {q: result.mse(np.asarray(image)) for q, (_, result) in results.items()}
    assert sizes[90] > sizes[20]
    assert errors[90] < errors[20]


def test_progress_bar_shows_rate_and_psnr(capsys):
    fit(natural_like(8, 8, 3), 1e-3, 2, threads=1, progress=True)
    err = capsys.readouterr().err
    assert "bpp=" in err and "psnr=" in err


def test_options_are_checked_and_targets_warn():
    codec = get_codec("overfit")
    with pytest.raises(InvalidParameterError, match="effort must be one of fast, medium, slow"):
        codec.encode(_image("RGB", 8, 8), effort="extreme")
    with pytest.warns(UserWarning, match="short previews and one or more full encodes"):
        encode_at = codec.quality_encoder(_image("RGB", 8, 8), iterations=2, threads=1)
    assert OverfitCodec.sniff(encode_at(30))


def test_rate_searches_preview_with_an_eighth_of_the_iterations_and_plain_rounding(monkeypatch):
    trained = []

    def recording(image, quality, iterations, threads, start, arm_hidden, rdoq_sweeps):
        trained.append(iterations)
        assert rdoq_sweeps == 0
        return b"file", None

    monkeypatch.setattr("convpress.codecs.overfit.encode_image", recording)
    codec, image = get_codec("overfit"), _image("RGB", 8, 8)
    assert codec.preview_encoder(image, iterations=799) is None  # a 99-iteration preview would say too little
    assert codec.preview_encoder(image, iterations=800, threads=1)(50) == b"file"
    codec.preview_encoder(image, effort="slow")(50)
    assert trained == [100, 500]


def test_interrupted_encode_leaves_no_output(tmp_path, monkeypatch):
    source, output = tmp_path / "in.png", tmp_path / "out.cpz"
    _image("RGB", 8, 8).save(source)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("convpress.codecs.overfit.fit", interrupted)
    assert main(["encode", str(source), str(output), "--codec", "overfit"]) == 130
    assert not output.exists() and list(tmp_path.iterdir()) == [source]


def test_another_arm_width_decodes_bit_exactly_with_its_arm_coded_whole():
    """No installed prior has an 8-wide ARM: the fit starts the rest from the shipped prior, and the
    file (its width in the configuration stream) decodes to the encoder's reconstruction."""
    image = _image("RGB", 24, 40, seed=7)
    data = OverfitCodec().encode(image, quality=60, iterations=10, threads=1, arm=8)
    _, result = encode_image(image, 60, 10, threads=1, arm_hidden=8)
    assert result.networks.architecture.arm_hidden == 8
    assert unpack(data)[0].weights_hash == shipped_prior().weights_hash
    assert np.array_equal(np.asarray(OverfitCodec().decode(data)), result.reconstruction)
    with pytest.raises(ValueError, match="arm"):
        OverfitCodec().encode(image, quality=60, iterations=10, threads=1, arm=0)
