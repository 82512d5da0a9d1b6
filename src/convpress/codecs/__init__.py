"""Codecs behind one interface: see :mod:`convpress.codecs.base` and :mod:`convpress.codecs.registry`."""

from convpress.codecs.base import DEFAULT_QUALITY, Codec, PillowCodec
from convpress.codecs.registry import codec_for_data, codec_for_extension, codec_names, get_codec, register

__all__ = [
    "DEFAULT_QUALITY",
    "Codec",
    "PillowCodec",
    "codec_for_data",
    "codec_for_extension",
    "codec_names",
    "get_codec",
    "register",
]
