"""What every registered codec promises, checked for each of them.

Codec-specific behaviour (option effects, mode conversions, library quirks) is tested in
``test_<codec>_codec.py``; here the same properties are asserted across all classical codecs.
"""

from __future__ import annotations

import numpy as np
import pytest
from codec_helpers import CLASSICAL_CODECS, encode, make_image, psnr, round_trip
from PIL import Image

from convpress.codecs import codec_for_data, codec_names, get_codec
from convpress.codecs.registry import codec_class
from convpress.errors import CorruptDataError, InvalidParameterError, UnsupportedImageError

ALL_CODECS = [name for name in CLASSICAL_CODECS if name in codec_names()]  # a missing one fails below
LOSSY_CODECS = [name for name in ALL_CODECS if get_codec(name).lossy]
LOSSLESS_CODECS = [name for name in ALL_CODECS if get_codec(name).lossless]

# Lowest PSNR (dB) accepted at a quality on the generated test images. Loose on purpose: they check
# that quality reaches the library the right way round, not how good each codec is. JPEG 2000 sets
# the low end, because its JP2 header eats most of a small image's byte budget at quality 50.
PSNR_FLOOR = {50: 20.0, 90: 33.0}
ODD_SIZES = [(1, 1), (3, 7), (1000, 17)]


def modes_of(name: str) -> list[str]:
    return sorted(get_codec(name).modes)


def codec_mode_pairs(names: list[str]) -> list[tuple[str, str]]:
    return [(name, mode) for name in names for mode in modes_of(name)]


def test_all_classical_codecs_are_registered_and_available():
    assert set(CLASSICAL_CODECS) <= set(codec_names())


@pytest.mark.parametrize("name", ALL_CODECS)
def test_codec_describes_itself(name):
    codec = get_codec(name)
    assert codec.is_available()
    assert codec.description
    assert codec.extensions and all(ext.startswith(".") and ext == ext.lower() for ext in codec.extensions)
    assert codec.lossy or codec.lossless
    assert codec.modes <= {"L", "RGB", "RGBA"} and "RGB" in codec.modes


@pytest.mark.parametrize(("name", "mode"), codec_mode_pairs(LOSSY_CODECS))
@pytest.mark.parametrize("quality", sorted(PSNR_FLOOR))
def test_lossy_round_trip_keeps_size_and_mode_and_reaches_psnr_floor(name, mode, quality):
    image = make_image(mode)
    _, decoded = round_trip(name, image, quality)
    codec = get_codec(name)
    assert decoded.size == image.size
    assert decoded.mode == codec.decoded_mode(mode)
    assert psnr(image.convert(decoded.mode), decoded) >= PSNR_FLOOR[quality]


@pytest.mark.parametrize(("name", "mode"), codec_mode_pairs(LOSSY_CODECS))
def test_lower_quality_gives_smaller_files_and_lower_psnr(name, mode):
    image = make_image(mode)
    results = {quality: round_trip(name, image, quality) for quality in (90, 50, 20)}
    sizes = {quality: len(data) for quality, (data, _) in results.items()}
    assert sizes[90] > sizes[50] > sizes[20]
    quality_90, quality_20 = (psnr(image.convert(results[q][1].mode), results[q][1]) for q in (90, 20))
    assert quality_90 > quality_20


@pytest.mark.parametrize("name", ALL_CODECS)
@pytest.mark.parametrize(("width", "height"), ODD_SIZES)
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_odd_sizes_round_trip(name, width, height, mode):
    image = make_image(mode, width, height, seed=5)
    codec = get_codec(name)
    for quality in (50, 90):
        _, decoded = round_trip(name, image, quality)
        assert decoded.size == (width, height)
        assert decoded.mode == codec.decoded_mode(mode)
        floor = PSNR_FLOOR[quality] if codec.lossy else float("inf")
        assert psnr(image.convert(decoded.mode), decoded) >= floor


def transparent_corner(image: Image.Image) -> Image.Image:
    """``image`` with a fully transparent corner whose colour values are still varied."""
    array = np.array(image)
    array[:12, :12, 3] = 0
    return Image.fromarray(array, "RGBA")


@pytest.mark.parametrize(("name", "mode"), codec_mode_pairs(LOSSLESS_CODECS))
def test_lossless_mode_is_bit_exact(name, mode):
    image = make_image(mode, 45, 31, seed=2)
    if mode == "RGBA":
        image = transparent_corner(image)
    _, decoded = round_trip(name, image, lossless=True)
    assert decoded.mode == get_codec(name).decoded_mode(mode)
    assert np.array_equal(np.asarray(decoded), np.asarray(image.convert(decoded.mode)))


@pytest.mark.parametrize("name", ALL_CODECS)
def test_decode_is_found_from_content(name):
    data = encode(name, make_image("RGB", 16, 16))
    assert get_codec(name).sniff(data)
    assert codec_for_data(data).name == name
    others = [other for other in codec_names(available_only=False) if other != name]
    assert not any(codec_class(other).sniff(data) for other in others)


@pytest.mark.parametrize("name", ALL_CODECS)
def test_encoding_ignores_metadata_and_leftover_encoder_settings(name):
    plain = make_image("RGB", 32, 24)
    decorated = plain.copy()
    decorated.info.update({"exif": b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00", "comment": b"hello"})
    decorated.encoderinfo = {"quality": 3, "lossless": True, "subsampling": 0}
    assert encode(name, decorated) == encode(name, plain)


@pytest.mark.parametrize("name", ALL_CODECS)
def test_encoding_leaves_the_caller_image_untouched(name):
    image = make_image("RGB", 20, 10)
    before = image.tobytes()
    encode(name, image)
    assert image.tobytes() == before
    assert not hasattr(image, "encoderinfo")


def corrupt(data: bytes, kind: str) -> bytes:
    """A broken variant of a valid file, of the given kind."""
    rng = np.random.default_rng(7)
    variants = {
        "empty": lambda: b"",
        "truncated": lambda: data[: len(data) // 2],
        "header only": lambda: data[:16],
        "scrambled header": lambda: data[:8] + bytes(b ^ 0xFF for b in data[8:56]) + data[56:],
        "random bytes": lambda: rng.bytes(len(data)),
        "magic then random bytes": lambda: data[:16] + rng.bytes(400),
    }
    return variants[kind]()


@pytest.mark.parametrize("name", ALL_CODECS)
@pytest.mark.parametrize(
    "kind", ["empty", "truncated", "header only", "scrambled header", "random bytes", "magic then random bytes"]
)
def test_broken_data_raises_corrupt_data_error(name, kind):
    broken = corrupt(encode(name, make_image("RGB")), kind)
    with pytest.raises(CorruptDataError, match=f"^{name}: "):
        get_codec(name).decode(broken)


@pytest.mark.parametrize("name", ALL_CODECS)
def test_flipped_bytes_decode_to_an_image_or_raise_corrupt_data_error(name):
    """Payload damage may go unnoticed (no checksums) but must never crash, hang or leak another error."""
    data = encode(name, make_image("RGB"))
    rng = np.random.default_rng(11)
    for _ in range(25):
        damaged = bytearray(data)
        for position in rng.integers(0, len(data), size=4):
            damaged[position] ^= int(rng.integers(1, 256))
        try:
            decoded = get_codec(name).decode(bytes(damaged))
        except CorruptDataError:
            continue
        assert isinstance(decoded, Image.Image) and decoded.mode in {"L", "RGB", "RGBA"}


@pytest.mark.parametrize("name", ALL_CODECS)
def test_another_formats_file_is_refused(name):
    other = "png" if name != "png" else "jpeg"
    with pytest.raises(CorruptDataError, match=f"not a valid {name} file"):
        get_codec(name).decode(encode(other, make_image("RGB", 8, 8)))


@pytest.mark.parametrize("name", LOSSY_CODECS)
@pytest.mark.parametrize("quality", [0, 100.5, -3, float("nan"), "high"])
def test_quality_outside_the_scale_is_refused(name, quality):
    with pytest.raises(InvalidParameterError, match="quality"):
        get_codec(name).encode(make_image("RGB", 8, 8), quality)


@pytest.mark.parametrize("name", ALL_CODECS)
def test_unknown_option_is_refused_by_name(name):
    with pytest.raises(InvalidParameterError, match=f"{name} has no option colour"):
        get_codec(name).encode(make_image("RGB", 8, 8), colour="blue")


@pytest.mark.parametrize("name", [n for n in ALL_CODECS if not get_codec(n).lossless])
def test_lossless_request_without_lossless_mode_is_refused(name):
    with pytest.raises(InvalidParameterError, match=f"{name} has no lossless mode"):
        get_codec(name).encode(make_image("RGB", 8, 8), lossless=True)


@pytest.mark.parametrize("name", ALL_CODECS)
def test_empty_image_is_refused(name):
    with pytest.raises(UnsupportedImageError, match="empty 0x5 image"):
        get_codec(name).encode(Image.new("RGB", (0, 5)))


@pytest.mark.parametrize("name", ALL_CODECS)
def test_unsupported_modes_are_refused_with_the_accepted_ones(name):
    codec = get_codec(name)
    for mode in sorted({"L", "RGB", "RGBA", "CMYK", "I;16"} - codec.modes):
        with pytest.raises(UnsupportedImageError, match=f"{name} cannot store {mode} images"):
            codec.encode(Image.new(mode, (4, 4)))
