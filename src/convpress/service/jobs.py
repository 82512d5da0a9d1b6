"""The work behind each endpoint, as plain functions of bytes run on the worker pool.

They know nothing of HTTP: they raise :class:`~convpress.errors.ConvpressError` subclasses for bad
input, which the app maps to status codes, and return the response models of
:mod:`convpress.service.schemas`. Codecs are found through the registry, so a codec that becomes
available (the learned codec once its weights are installed) is served without a change here.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

import convpress
from convpress.codecs import DEFAULT_QUALITY, Codec, codec_names, get_codec
from convpress.codecs.base import QUALITY_MAX, QUALITY_MIN, check_quality
from convpress.codecs.registry import codec_class
from convpress.codecs.targets import encode_to_target, parse_size
from convpress.deadline import check_deadline
from convpress.errors import CodecUnavailableError, ConvpressError, InvalidParameterError, UnsupportedImageError
from convpress.service import schemas
from convpress.service.inputs import read_upload
from convpress.service.metrics import distortion
from convpress.zoo import shipped_models

RESTORERS = {"denoise": "sigma", "deblock": "quality"}
"""Restoration functions of the package (``convpress.<name>``) and the keyword of their parameter."""
DEFAULT_SWEEP_QUALITIES = (10.0, 25.0, 40.0, 55.0, 70.0, 85.0, 95.0)
MAX_SWEEP_CODECS = 8
MAX_SWEEP_POINTS = 12
DISPLAY_PNG_LEVEL = 1
"""zlib level of the PNGs sent for display: they are thrown away, so speed beats size."""


class RestorationUnavailableError(ConvpressError):
    """A restoration model is not installed (HTTP 501)."""


@dataclass(frozen=True)
class RateRequest:
    """How to spend bits: a quality, lossless mode, or exactly one target to search for."""

    quality: float | None = None
    lossless: bool = False
    target_bpp: float | None = None
    target_size: str | None = None
    target_psnr: float | None = None

    def targets(self) -> dict[str, float | str]:
        given = {"target_bpp": self.target_bpp, "target_size": self.target_size, "target_psnr": self.target_psnr}
        return {name: value for name, value in given.items() if value is not None}

    def check(self, codec: Codec) -> None:
        """Refuse contradictory requests before any work is done."""
        targets = self.targets()
        if len(targets) > 1:
            raise InvalidParameterError("give at most one of target_bpp, target_size, target_psnr")
        if targets and (self.quality is not None or self.lossless):
            raise InvalidParameterError("a target chooses the quality: drop quality and lossless")
        if self.lossless and not codec.lossless:
            raise InvalidParameterError(f"{codec.name} has no lossless mode")
        if self.quality is not None and (self.lossless or not codec.lossy):
            reason = "ignores quality in lossless mode" if codec.lossy else "is lossless only"
            raise InvalidParameterError(f"{codec.name} {reason}: drop quality")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def display_png(image: Image.Image) -> bytes:
    """PNG bytes of ``image`` for a browser to show."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=DISPLAY_PNG_LEVEL)
    return buffer.getvalue()


def elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 2)


def parse_options(text: str | None) -> dict[str, object]:
    """Codec options sent as a JSON object of names to values, e.g. ``{"subsampling": "4:4:4"}``."""
    if not text:
        return {}
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidParameterError(f"options must be a JSON object ({exc.msg})") from None
    if not isinstance(options, dict) or not all(isinstance(v, (str, int, float)) for v in options.values()):
        raise InvalidParameterError('options must be a JSON object of names to values, e.g. {"method": 6}')
    return options


def compress_job(
    data: bytes, codec_name: str, rate: RateRequest, options: dict[str, object], max_pixels: int
) -> schemas.CompressResult:
    """Compress the upload, decode it back, and measure size, distortion and time."""
    codec = get_codec(codec_name)
    rate.check(codec)
    image = read_upload(data, max_pixels).image
    start = time.perf_counter()
    target = None
    if rate.targets():
        found = encode_to_target(codec, image, **rate.targets(), **options)
        encoded, quality = found.data, found.quality
        kind, value = next(iter(rate.targets().items()))
        target = schemas.TargetInfo(
            kind=kind.removeprefix("target_"), value=_target_value(kind, value), achieved=found.achieved, reached=found.reached
        )
    elif rate.lossless or not codec.lossy:
        quality = None
        encoded = codec.encode(image, **({"lossless": True} if rate.lossless else {}), **options)
    else:
        quality = check_quality(DEFAULT_QUALITY if rate.quality is None else rate.quality)
        encoded = codec.encode(image, quality=quality, **options)
    encode_ms = elapsed_ms(start)
    start = time.perf_counter()
    decoded = codec.decode(encoded)
    decode_ms = elapsed_ms(start)
    measured = distortion(image, decoded)
    return schemas.CompressResult(
        codec=codec.name,
        extension=codec.extensions[0] if codec.extensions else "",
        quality=quality,
        lossless=quality is None,
        target=target,
        width=image.width,
        height=image.height,
        mode=image.mode,
        bytes=len(encoded),
        bpp=8 * len(encoded) / (image.width * image.height),
        psnr=measured.psnr,
        identical=measured.identical,
        ms_ssim=measured.ms_ssim,
        encode_ms=encode_ms,
        decode_ms=decode_ms,
        compressed=b64(encoded),
        decoded_png=b64(display_png(decoded)),
    )


def _target_value(kind: str, value: float | str) -> float:
    """The target as a number (sizes given as text such as ``40KB`` in bytes)."""
    if kind == "target_size":
        return float(parse_size(str(value)))
    return float(value)


def parse_sweep_request(codecs: str, qualities: str | None) -> tuple[list[str], list[float]]:
    """Codec names and qualities of a sweep from comma-separated text, validated and de-duplicated."""
    names = list(dict.fromkeys(name.strip().lower() for name in codecs.split(",") if name.strip()))
    if not names:
        raise InvalidParameterError("name at least one codec to sweep")
    if len(names) > MAX_SWEEP_CODECS:
        raise InvalidParameterError(f"a sweep takes at most {MAX_SWEEP_CODECS} codecs, got {len(names)}")
    for name in names:
        get_codec(name)  # unknown or unavailable codecs fail here, before any work
    if not qualities:
        return names, list(DEFAULT_SWEEP_QUALITIES)
    try:
        numbers = [float(q) for q in qualities.split(",") if q.strip()]
    except ValueError:
        raise InvalidParameterError(
            f"qualities must be comma-separated numbers from {QUALITY_MIN:g} to {QUALITY_MAX:g}"
        ) from None
    values = sorted({check_quality(number) for number in numbers})
    if not 1 <= len(values) <= MAX_SWEEP_POINTS:
        raise InvalidParameterError(f"a sweep takes 1 to {MAX_SWEEP_POINTS} qualities, got {len(values)}")
    return names, values


def sweep_job(
    data: bytes, names: list[str], qualities: list[float], max_pixels: int
) -> schemas.SweepResult:
    """Rate-distortion points (bpp, PSNR) of each lossy codec over ``qualities``.

    Codecs that cannot sweep this image (lossless-only formats, or a mode the format cannot store)
    are listed as skipped with the reason instead of failing the whole sweep. The sweep checks the
    job's deadline (:mod:`convpress.deadline`) before each point, so a timed-out request frees its
    worker.
    """
    start = time.perf_counter()
    image = read_upload(data, max_pixels).image
    series, skipped = [], []
    for name in names:
        codec = get_codec(name)
        if not codec.lossy:
            skipped.append(schemas.SkippedCodec(codec=name, reason="lossless only: it has no quality to sweep"))
            continue
        try:
            points = _sweep_codec(codec, image, qualities)
        except UnsupportedImageError as exc:
            skipped.append(schemas.SkippedCodec(codec=name, reason=str(exc)))
            continue
        series.append(schemas.SweepSeries(codec=name, points=points))
    return schemas.SweepResult(
        width=image.width,
        height=image.height,
        qualities=qualities,
        series=series,
        skipped=skipped,
        elapsed_ms=elapsed_ms(start),
    )


def _sweep_codec(codec: Codec, image: Image.Image, qualities: list[float]) -> list[schemas.SweepPoint]:
    encode_at = codec.quality_encoder(image)
    points = []
    for quality in qualities:
        check_deadline()
        encoded = encode_at(quality)
        measured = distortion(image, codec.decode(encoded), with_ms_ssim=False)
        bpp = 8 * len(encoded) / (image.width * image.height)
        points.append(schemas.SweepPoint(quality=quality, bytes=len(encoded), bpp=bpp, psnr=measured.psnr))
    return points


@dataclass(frozen=True)
class DecodedUpload:
    png: bytes
    format: str
    width: int
    height: int
    decode_ms: float


def decode_job(data: bytes, max_pixels: int) -> DecodedUpload:
    """Any accepted upload (``.cpz`` included) as a PNG."""
    start = time.perf_counter()
    upload = read_upload(data, max_pixels)
    decode_ms = elapsed_ms(start)
    return DecodedUpload(display_png(upload.image), upload.format, upload.image.width, upload.image.height, decode_ms)


def find_restorer(kind: str) -> Callable[..., Image.Image]:
    """``convpress.denoise`` or ``convpress.deblock``, looked up now: they may be installed later."""
    function = getattr(convpress, kind, None)
    if function is None:
        raise RestorationUnavailableError(
            f"{kind} is not available: this installation of convpress has no convpress.{kind} "
            "(the restoration models are not installed)"
        )
    return function


def restore_job(
    restorer: Callable[..., Image.Image],
    kind: str,
    data: bytes,
    parameter: float | None,
    reference_data: bytes | None,
    max_pixels: int,
) -> schemas.RestoreResult:
    """Run a restoration model on the upload; measured against ``reference_data`` when given."""
    image = read_upload(data, max_pixels).image
    reference = read_upload(reference_data, max_pixels).image if reference_data else None
    start = time.perf_counter()
    try:
        restored = restorer(image, **{RESTORERS[kind]: parameter})
    except CodecUnavailableError as exc:  # e.g. the model's weights are missing
        raise RestorationUnavailableError(f"{kind} is not available: {exc}") from exc
    restore_ms = elapsed_ms(start)
    if not isinstance(restored, Image.Image) or restored.size != image.size:
        raise RuntimeError(f"convpress.{kind} returned {type(restored).__name__}, not an image of the input's size")
    after = distortion(reference, restored) if reference is not None else None
    before = distortion(reference, image, with_ms_ssim=False) if reference is not None else None
    return schemas.RestoreResult(
        kind=kind,
        width=restored.width,
        height=restored.height,
        restore_ms=restore_ms,
        psnr=after.psnr if after else None,
        ms_ssim=after.ms_ssim if after else None,
        identical=bool(after and after.identical),
        input_psnr=before.psnr if before else None,
        image_png=b64(display_png(restored)),
    )


def catalogue() -> schemas.Catalogue:
    """Every registered codec (available or not, with the reason) and the installed models."""
    codecs = [_codec_info(name) for name in codec_names(available_only=False)]
    restoration = schemas.RestorationInfo(**{kind: hasattr(convpress, kind) for kind in RESTORERS})
    return schemas.Catalogue(codecs=codecs, models=schemas.ModelsInfo(compression=shipped_models(), restoration=restoration))


def _codec_info(name: str) -> schemas.CodecInfo:
    cls = codec_class(name)
    available = cls.is_available()
    return schemas.CodecInfo(
        name=cls.name,
        description=cls.description,
        available=available,
        unavailable_reason=None if available else cls.unavailable_reason(),
        lossy=cls.lossy,
        lossless=cls.lossless,
        extensions=list(cls.extensions),
        options=[
            schemas.OptionInfo(
                name=o.name, default=o.default, help=o.help, choices=list(o.choices), minimum=o.minimum, maximum=o.maximum
            )
            for o in cls.options
        ],
    )
