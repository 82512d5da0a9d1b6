"""The shared machinery of codecs: options, quality scale, sniffing helpers and the registry."""

from __future__ import annotations

import struct

import pytest
from PIL import Image

from convpress.codecs import base, registry
from convpress.codecs.base import CodecOption, check_quality, isobmff_brands, pixels_only
from convpress.codecs.jpeg import JpegCodec
from convpress.codecs.webp import WebpCodec
from convpress.errors import CodecUnavailableError, CorruptDataError, InvalidParameterError, UnsupportedImageError

SPEED = CodecOption("speed", 6, "encoder speed", minimum=0, maximum=10)
CHROMA = CodecOption("subsampling", "4:2:0", "chroma", choices=("4:2:0", "4:4:4"))


@pytest.mark.parametrize(("given", "expected"), [(4, 4), ("4", 4), (" 10 ", 10), ("0", 0)])
def test_integer_option_accepts_numbers_and_text(given, expected):
    assert SPEED.parse(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [("fast", "must be an integer"), ("4.5", "must be an integer"), (11, "between 0 and 10, got 11"), ("-1", "got -1")],
)
def test_integer_option_refuses_non_integers_and_out_of_range(given, message):
    with pytest.raises(InvalidParameterError, match=message):
        SPEED.parse(given)


def test_text_option_accepts_only_its_choices():
    assert CHROMA.parse("4:4:4") == "4:4:4"
    with pytest.raises(InvalidParameterError, match="subsampling must be one of 4:2:0, 4:4:4, got '444'"):
        CHROMA.parse("444")


def test_option_description_lists_default_and_accepted_values():
    assert SPEED.describe() == "speed=6 (0-10): encoder speed"
    assert CHROMA.describe() == "subsampling=4:2:0 (4:2:0|4:4:4): chroma"


def test_resolve_options_fills_defaults_and_parses_given_values():
    codec = JpegCodec()
    assert codec.resolve_options({}) == {"subsampling": "4:2:0"}
    assert codec.resolve_options({"subsampling": "4:4:4"}) == {"subsampling": "4:4:4"}


def test_resolve_options_names_the_unknown_option_and_the_known_ones():
    with pytest.raises(InvalidParameterError, match=r"webp has no option speed, zz \(its options: method\)"):
        WebpCodec().resolve_options({"zz": 1, "speed": 2})


@pytest.mark.parametrize("quality", [1, 1.0, 55.5, "80", 100])
def test_check_quality_accepts_the_scale(quality):
    assert check_quality(quality) == float(quality)


def test_quality_errors_are_also_value_errors_for_older_callers():
    with pytest.raises(ValueError, match="between 1 and 100, got 101"):
        check_quality(101)


def ftyp(major: bytes, *compatible: bytes, declared_size: int | None = None) -> bytes:
    size = 16 + 4 * len(compatible)
    header = struct.pack(">I", declared_size if declared_size is not None else size) + b"ftyp" + major
    return header + b"\x00\x00\x00\x00" + b"".join(compatible) + b"\x00\x00\x00\x08mdat"


def test_isobmff_brands_reads_major_and_compatible_brands():
    assert isobmff_brands(ftyp(b"mif1", b"avif", b"miaf")) == {b"mif1", b"avif", b"miaf"}


def test_isobmff_brands_stops_at_the_box_end():
    assert isobmff_brands(ftyp(b"heic", b"mif1")) == {b"heic", b"mif1"}  # not b"\x00\x00\x00\x08"


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x00\x00\x18ftyp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", ftyp(b"avif", declared_size=8)]
)
def test_isobmff_brands_of_other_or_broken_data_is_empty(data):
    assert isobmff_brands(data) == frozenset()


def test_isobmff_brands_reads_a_bounded_prefix_of_a_huge_declared_box():
    data = ftyp(b"heic", declared_size=2**31) + b"avif" * 10_000
    assert b"avif" in isobmff_brands(data)
    assert len(isobmff_brands(data)) <= base.FTYP_READ_LIMIT // 4


def test_pixels_only_drops_metadata_and_keeps_pixels(rgba_image):
    rgba_image.info["icc_profile"] = b"profile"
    rgba_image.encoderinfo = {"quality": 1}
    bare = pixels_only(rgba_image)
    assert bare.tobytes() == rgba_image.tobytes() and bare.mode == "RGBA"
    assert bare.info == {} and not hasattr(bare, "encoderinfo") and bare.format is None
    assert rgba_image.info["icc_profile"] == b"profile"


class MissingLibraryCodec(base.PillowCodec):
    """A codec whose library is absent, to check how the registry reports it."""

    name = "missinglib"
    extensions = (".mls",)
    pillow_format = "NO-SUCH-FORMAT"

    def save_options(self, image, quality, lossless, settings):
        return {}

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return data.startswith(b"MLS1")


@pytest.fixture
def missing_library_codec(monkeypatch):
    monkeypatch.setitem(registry._CODECS, MissingLibraryCodec.name, MissingLibraryCodec)
    return MissingLibraryCodec


class MisconfiguredWebp(WebpCodec):
    """Passes libwebp a setting it rejects, standing in for any encoder failure."""

    def save_options(self, image, quality, lossless, settings):
        return {"method": 99}


def test_encoder_failure_is_reported_as_a_user_error_with_the_library_message():
    with pytest.raises(UnsupportedImageError, match="webp encoder failed on a 3x2 RGB image: invalid configuration"):
        MisconfiguredWebp().encode(Image.new("RGB", (3, 2)))


def test_codec_without_its_library_is_unavailable_and_unlisted(missing_library_codec):
    assert not missing_library_codec.is_available()
    assert "missinglib" not in registry.codec_names()
    assert "missinglib" in registry.codec_names(available_only=False)


def test_codec_without_its_library_is_reported_by_name_extension_and_content(missing_library_codec):
    message = "codec 'missinglib' needs a library that is not installed"
    with pytest.raises(CodecUnavailableError, match=message):
        registry.get_codec("MissingLib")
    with pytest.raises(CodecUnavailableError, match=message):
        registry.codec_for_extension("picture.MLS")
    with pytest.raises(CodecUnavailableError, match=message):
        registry.codec_for_data(b"MLS1...")


def test_registry_refuses_a_second_codec_under_a_taken_name():
    clash = type("Clash", (MissingLibraryCodec,), {"name": "jpeg"})
    with pytest.raises(ValueError, match="'jpeg' registered twice"):
        registry.register(clash)


def test_unknown_names_extensions_and_contents():
    with pytest.raises(CodecUnavailableError, match="unknown codec 'gif'; known codecs: avif, heic"):
        registry.get_codec("gif")
    assert registry.codec_for_extension("a.gif") is None
    assert registry.codec_for_data(b"GIF89a") is None


def test_registry_lookup_by_extension_is_case_insensitive():
    assert registry.codec_for_extension("photo.JPEG").name == "jpeg"
    assert registry.codec_for_extension("photo.heif").name == "heic"


def test_decode_error_message_does_not_leak_python_object_reprs():
    with pytest.raises(CorruptDataError, match=r"^webp: not a valid webp file \(corrupt or truncated header\)$"):
        WebpCodec().decode(b"not an image at all")

