"""Registry of codecs, in the spirit of Pillow's plugin registry.

Every module in :mod:`convpress.codecs` that defines a codec registers it with :func:`register`;
the modules are imported on first use, so adding a codec is adding one module.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from convpress.codecs.base import Codec
from convpress.errors import CodecUnavailableError

_CODECS: dict[str, type[Codec]] = {}
_INFRASTRUCTURE_MODULES = {"base", "registry"}
_loaded = False


def register(codec_class: type[Codec]) -> type[Codec]:
    """Class decorator: make ``codec_class`` available under ``codec_class.name``."""
    existing = _CODECS.get(codec_class.name)
    if existing is not None and existing is not codec_class:
        raise ValueError(f"codec name {codec_class.name!r} registered twice")
    _CODECS[codec_class.name] = codec_class
    return codec_class


def _load_codec_modules() -> None:
    global _loaded
    if _loaded:
        return
    package_dir = Path(__file__).parent
    for module in pkgutil.iter_modules([str(package_dir)]):
        if module.name not in _INFRASTRUCTURE_MODULES and not module.name.startswith("_"):
            importlib.import_module(f"convpress.codecs.{module.name}")
    _loaded = True


def codec_names(*, available_only: bool = True) -> list[str]:
    """Names of the registered codecs, in a stable order."""
    _load_codec_modules()
    return sorted(n for n, c in _CODECS.items() if c.is_available() or not available_only)


def get_codec(name: str) -> Codec:
    """A codec instance by registry name (case-insensitive)."""
    _load_codec_modules()
    key = name.lower()
    codec_class = _CODECS.get(key)
    if codec_class is None:
        known = ", ".join(codec_names(available_only=False))
        raise CodecUnavailableError(f"unknown codec {name!r}; known codecs: {known}")
    if not codec_class.is_available():
        raise CodecUnavailableError(f"codec {codec_class.name!r} {codec_class.unavailable_reason()}")
    return codec_class()


def codec_for_extension(path: str | Path) -> Codec | None:
    """The codec that writes files with this extension, or None when no codec claims it.

    A codec that claims the extension but lacks its library raises
    :class:`CodecUnavailableError`, which says more than "unknown extension" would.
    """
    _load_codec_modules()
    suffix = Path(path).suffix.lower()
    for name in codec_names(available_only=False):
        if suffix in _CODECS[name].extensions:
            return get_codec(name)
    return None


def codec_class(name: str) -> type[Codec]:
    """The registered class of a codec, whether or not its library is installed."""
    _load_codec_modules()
    try:
        return _CODECS[name.lower()]
    except KeyError:
        raise CodecUnavailableError(f"unknown codec {name!r}") from None


def codec_for_data(data: bytes) -> Codec | None:
    """The codec whose magic bytes start ``data``, or None.

    Like :func:`codec_for_extension`, a recognised format whose library is missing raises
    :class:`CodecUnavailableError`.
    """
    _load_codec_modules()
    for name in codec_names(available_only=False):
        if _CODECS[name].sniff(data):
            return get_codec(name)
    return None
