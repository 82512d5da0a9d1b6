"""The learned CNN codec (``.cpz``): any image size, gray/RGB/RGBA and a continuous quality knob.

Rate targets (bits per pixel, size, PSNR) go through :mod:`convpress.codecs.targets`, which
reuses one analysis of the image for the whole search. Quality 1-100 maps linearly onto the model's continuous rate level (its trained lambdas span
about 0.1 to 2 bpp on Kodak). Gray images are coded as RGB with equal channels and come back
gray; the alpha channel of RGBA images is stored losslessly (PNG) in a stream of its own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from convpress.codecs.base import DEFAULT_QUALITY, Codec, CodecOption, check_quality
from convpress.codecs.registry import register
from convpress.coding.alpha import alpha_stream, with_alpha
from convpress.coding.container import CpzHeader, ModelFamily, is_cpz, model_family, pack, unpack
from convpress.errors import CodecUnavailableError, CorruptDataError, UnsupportedImageError
from convpress.models.compression import DEFAULT_TILE, LATENT_STRIDE, TILE_MARGIN, LatentCodec, pad_to_multiple
from convpress.models.gain import quality_to_level
from convpress.models.loading import LoadedModel, load_model_file
from convpress.models.refinement import check_refinable, refine_latents
from convpress.zoo import DEFAULT_MODEL, shipped_models, weights_path

MODEL_CACHE_SIZE = 4
_loaded_models: OrderedDict[str, LoadedModel] = OrderedDict()
"""The models this process loaded last, most recent last (they take tens of MB each)."""


def load_model(name_or_path: str) -> LoadedModel:
    """A shipped model by name, or a model file by path (cached)."""
    if name_or_path in _loaded_models:
        _loaded_models.move_to_end(name_or_path)
        return _loaded_models[name_or_path]
    path = Path(name_or_path)
    if path.suffix != ".safetensors":
        path = weights_path(name_or_path)
        if not path.is_file():
            shipped = ", ".join(shipped_models()) or "none"
            raise CodecUnavailableError(f"no weights for model {name_or_path!r} (shipped: {shipped})")
    loaded = _loaded_models[name_or_path] = load_model_file(path)
    if len(_loaded_models) > MODEL_CACHE_SIZE:
        _loaded_models.popitem(last=False)
    return loaded


def model_for(header: CpzHeader) -> LoadedModel:
    """The model that wrote a file: one this process loaded with the file's weights, else the shipped one.

    A file coded with a model file given by path (``model=PATH``, e.g. a candidate being
    benchmarked) names the model but not the path; the weights hash finds it among the loaded models.
    """
    for loaded in reversed(_loaded_models.values()):
        if loaded.name == header.model_name and loaded.weights_hash == header.weights_hash:
            return loaded
    return load_model(header.model_name)


@dataclass
class Prepared:
    """An image as the network sees it: padded RGB, plus what is needed to rebuild it."""

    pixels: torch.Tensor | None
    """Padded uint8 RGB [1, 3, H, W] (converted to float tile by tile); released once analysed."""
    width: int
    height: int
    mode: str
    alpha: bytes | None


MAX_PIXELS = 50_000_000
"""Largest image the learned codec encodes or decodes (its entropy stage holds all latents)."""


def check_pixels(width: int, height: int) -> None:
    """Refuse sizes beyond :data:`MAX_PIXELS` before anything is allocated for them."""
    if width * height > MAX_PIXELS:
        raise UnsupportedImageError(
            f"learned codec handles images up to {MAX_PIXELS / 1e6:g} megapixels, got {width}x{height}"
        )


def prepare(image: Image.Image) -> Prepared:
    if image.mode not in ("L", "RGB", "RGBA"):
        raise UnsupportedImageError(f"learned codec cannot store {image.mode} images (it accepts L, RGB, RGBA)")
    check_pixels(image.width, image.height)
    alpha = alpha_stream(image)
    rgb = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None]
    return Prepared(pad_to_multiple(rgb, LATENT_STRIDE), image.width, image.height, image.mode, alpha)


def to_image(x: torch.Tensor, width: int, height: int, mode: str, alpha: bytes | None) -> Image.Image:
    pixels = x[0, :, :height, :width].clamp_(0, 1).mul_(255).round_()  # in place: large images are big
    array = pixels.to(torch.uint8).permute(1, 2, 0).numpy()
    if mode == "L":
        gray = np.round(array.astype(np.float32).mean(axis=2)).astype(np.uint8)
        return Image.fromarray(gray, "L")
    image = Image.fromarray(np.ascontiguousarray(array), "RGB")
    return with_alpha(image, alpha) if mode == "RGBA" else image


class Encoding:
    """One image analysed once, codable at any quality (the analysis does not depend on it)."""

    def __init__(self, loaded: LoadedModel, image: Image.Image, tile: int = DEFAULT_TILE, refine: int = 0) -> None:
        if refine:
            check_refinable(image.width, image.height, loaded.metric)
        self.loaded = loaded
        self.prepared = prepare(image)
        self.tile = tile
        self.refine = refine
        self.padded_size = tuple(self.prepared.pixels.shape[2:])
        with torch.inference_mode():
            self.raw_latents = loaded.codec.analyze(self.prepared.pixels, self.tile)
        if not refine:
            self.prepared.pixels = None  # not needed any more (large images: tens of MB)

    def encode(self, quality: float) -> bytes:
        quality = round(check_quality(quality), 2)
        codec: LatentCodec = self.loaded.codec
        level = quality_to_level(quality, self.loaded.model.levels)
        with torch.inference_mode():
            gain, _ = self.loaded.model.gain.gains(torch.tensor([level]))
            latents = self.raw_latents * gain
        if self.refine:
            latents = self._refined(latents, level)
        with torch.inference_mode():
            coded, _ = codec.encode_latents(latents)
        prepared = self.prepared
        header = CpzHeader(
            family=ModelFamily.LEARNED_AUTOENCODER,
            model_name=self.loaded.name,
            weights_hash=self.loaded.weights_hash,
            quality=quality,
            width=prepared.width,
            height=prepared.height,
            mode=prepared.mode,
            symbols_crc=coded.checksum,
            tile_size=self._tile_size(),
            tile_overlap=TILE_MARGIN * LATENT_STRIDE if self._tile_size() else 0,
        )
        streams = [coded.stream] + ([prepared.alpha] if prepared.alpha is not None else [])
        return pack(header, streams)

    def _refined(self, latents: torch.Tensor, level: float) -> torch.Tensor:
        prepared = self.prepared
        image = prepared.pixels.float().div_(255.0)
        size = (prepared.height, prepared.width)
        return refine_latents(self.loaded.model, image, latents, level, size, self.refine, metric=self.loaded.metric)

    def _tile_size(self) -> int:
        height, width = self.padded_size
        side = self.tile * LATENT_STRIDE
        return side if max(height, width) > side else 0


def decode_cpz(data: bytes, model: str | None = None) -> Image.Image:
    header, streams = unpack(data)
    check_pixels(header.width, header.height)
    if header.family != ModelFamily.LEARNED_AUTOENCODER:
        raise CodecUnavailableError("this .cpz file was written by the overfitted codec, not the learned one")
    loaded = load_model(model) if model else model_for(header)
    header.check_model(loaded.name, loaded.weights_hash)
    expected_streams = 2 if header.mode == "RGBA" else 1
    if len(streams) != expected_streams:
        raise CorruptDataError(f"expected {expected_streams} stream(s) for a {header.mode} image, found {len(streams)}")
    latent_shape = (-(-header.height // LATENT_STRIDE), -(-header.width // LATENT_STRIDE))
    level = quality_to_level(header.quality, loaded.model.levels)
    with torch.inference_mode():
        y_hat = loaded.codec.decode_latents(streams[0], latent_shape, header.symbols_crc)
        x_hat = loaded.codec.synthesize(y_hat, level, DEFAULT_TILE)
        return to_image(x_hat, header.width, header.height, header.mode, streams[1] if header.mode == "RGBA" else None)


@register
class LearnedCodec(Codec):
    name = "learned"
    description = f"convpress CNN codec (default model {DEFAULT_MODEL})"
    extensions = (".cpz",)
    options = (
        CodecOption("model", DEFAULT_MODEL, "shipped model name or path of a .safetensors model file"),
        CodecOption("refine", 0, "encoder-side latent refinement: gradient steps on the image's own rate-distortion "
                    "loss (slow: ~0.7 s a step for a 768x512 image; smaller files at equal quality)", minimum=0, maximum=10_000),
    )
    default_qualities = tuple(round(1 + level * 99 / 7, 2) for level in range(8))
    """The eight trained rate levels (interpolated qualities in between are valid too)."""

    def __init__(self, model: str | None = None) -> None:
        self.model = model
        """Model name or weights path; None: the default model to encode, the file's model to decode."""

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        """Every ``.cpz`` file except the overfitted codec's (damaged ones too, to report them)."""
        return is_cpz(data) and model_family(data) != ModelFamily.OVERFITTED

    def encode(self, image: Image.Image, quality: float = DEFAULT_QUALITY, **options) -> bytes:
        return self.quality_encoder(image, **options)(quality)

    def quality_encoder(self, image: Image.Image, **options) -> Callable[[float], bytes]:
        """Analyse the image once; the returned function codes it at any quality."""
        self.check_mode(image)
        self.check_size(image)
        settings = self.resolve_options(options)
        return Encoding(load_model(self.model or str(settings["model"])), image, refine=int(settings["refine"])).encode

    def decode(self, data: bytes) -> Image.Image:
        return decode_cpz(data, self.model)


