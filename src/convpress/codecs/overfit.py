"""The overfitted per-image codec (Cool-chic / C3 style): the encoder trains a tiny model per image.

Encoding optimizes multi-resolution latent grids, a small synthesis CNN and an autoregressive
probability model for this one image (:mod:`convpress.overfit`), which takes minutes on a CPU;
decoding runs those networks once, in integer arithmetic, bit-exactly on any machine and in well
under a second. Files are ``.cpz`` with model family OVERFITTED, so this codec does not claim the
extension (``.cpz`` outputs go to the learned codec): choose it with ``--codec overfit``; decoding
finds it from the file's family byte.

Quality 1-100 maps to the rate-distortion weight ``lambda = 10 ** (-1.5 - 2.5 * (q - 1) / 99)``
of ``MSE + lambda * bpp`` (MSE on the 0-1 scale): 0.032 at quality 1, 1.8e-3 at 50, 4.3e-4 at
75, 1e-4 at 100. Options: ``effort`` (fast/medium/slow: 500/1500/4000 iterations), ``iterations``
(overrides the effort), ``threads`` (processes, one core each, that share the encoder's training, default 2), ``start`` (the
networks' starting point: ``prior``, trained on many images and shipped, or ``random``), ``arm`` (the
probability model's hidden width, default 16; a fit starts from the installed prior of that width,
if any: :func:`convpress.overfit.prior.prior_for`), ``rdoq`` (sweeps of rate-distortion optimized rounding of
the latents after training, :mod:`convpress.overfit.rdoq`, default 2; 0 rounds to nearest). Gray images are
coded with one channel; the alpha channel of RGBA images is stored losslessly (PNG) in a stream of
its own. The networks are coded as differences from the prior they started from, which the header
names by its hash: decoding such a file needs that prior (it is shipped with convpress); files
encoded with ``start=random`` carry their networks whole (hash zero).

Rate targets (``--target-bpp`` ...) search the quality with previews of an eighth of the
iterations (:data:`PREVIEW_FRACTION`), then encode for real at the quality they point to, corrected
from where each real encode lands: one preview search (5 to 8 short encodes) plus one to four
full encodes (three in the example of ``docs/overfit.md``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from PIL import Image

from convpress.codecs.base import DEFAULT_QUALITY, Codec, CodecOption, check_quality
from convpress.codecs.registry import register
from convpress.coding.alpha import alpha_stream, with_alpha
from convpress.coding.container import CpzHeader, ModelFamily, model_family, pack, unpack
from convpress.errors import CodecUnavailableError, CorruptDataError, UnsupportedImageError
from convpress.overfit.bitstream import MAX_WIDTH, Architecture, decode_streams, encode_streams
from convpress.overfit.decoder import reconstruct
from convpress.overfit.encoder import STARTS, FitResult, fit
from convpress.overfit.prior import Prior, installed_priors

MODEL_NAME = "overfit"
EFFORT_ITERATIONS = {"fast": 500, "medium": 1500, "slow": 4000}
"""Sized from a 768x512 image on this project's 2-core machine, idle: 0.30 s per iteration on one core,
0.205 s on two (1.47x), so `slow` trains for 13.7 minutes, `medium` 5.1, `fast` 1.7, and the two
sweeps of RDOQ add under a minute on two threads (docs/overfit.md)."""
MAX_PIXELS = 2**24
"""Largest image (16.7 megapixels): the encoder trains on the whole image at once."""
PREVIEW_FRACTION = 8
"""A rate search's previews train for this fraction of the encode's iterations."""
PREVIEW_MIN_ITERATIONS = 100
"""Shorter previews say too little about the real encode: below it the search uses real encodes."""
RDOQ_SWEEPS = 2
"""Sweeps of rate-distortion optimized rounding after training (:mod:`convpress.overfit.rdoq`)."""
NO_WEIGHTS = bytes(8)
"""The header's weights hash of a file that needs no installed weights: its networks are coded whole."""


def quality_to_lambda(quality: float) -> float:
    """The rate-distortion weight of a quality (see the module docstring)."""
    return 10 ** (-1.5 - 2.5 * (quality - 1) / 99)


def _pixels_and_alpha(image: Image.Image) -> tuple[np.ndarray, bytes | None]:
    """uint8 [H, W, C] colour pixels (C = 1 for gray) and the lossless alpha stream of RGBA images."""
    if image.mode == "L":
        return np.asarray(image)[:, :, None], None
    return np.asarray(image.convert("RGB")), alpha_stream(image)


def _image(pixels: np.ndarray, mode: str, alpha: bytes | None) -> Image.Image:
    if mode == "L":
        return Image.fromarray(pixels[:, :, 0], "L")
    image = Image.fromarray(pixels, "RGB")
    return with_alpha(image, alpha) if mode == "RGBA" else image


def encode_image(
    image: Image.Image,
    quality: float,
    iterations: int,
    threads: int = 2,
    start: str = "prior",
    arm_hidden: int = Architecture.arm_hidden,
    rdoq_sweeps: int = RDOQ_SWEEPS,
) -> tuple[bytes, FitResult]:
    """The ``.cpz`` file of an L/RGB/RGBA image, and the fit behind it (its reconstruction included)."""
    quality = round(quality, 2)
    pixels, alpha = _pixels_and_alpha(image)
    architecture = Architecture(arm_hidden=arm_hidden, channels=pixels.shape[2])
    result = fit(pixels, quality_to_lambda(quality), iterations, architecture, threads=threads, start=start, rdoq_sweeps=rdoq_sweeps)
    config, symbols, checksum = encode_streams(result.networks, result.latents, result.exact)
    header = CpzHeader(
        family=ModelFamily.OVERFITTED,
        model_name=MODEL_NAME,
        weights_hash=NO_WEIGHTS if result.prior is None else result.prior.weights_hash,
        quality=quality,
        width=image.width,
        height=image.height,
        mode=image.mode,
        symbols_crc=checksum,
    )
    return pack(header, [config, symbols] + ([alpha] if alpha is not None else [])), result


def _iterations(settings: dict) -> int:
    """The encoder's iterations: the ``iterations`` option, else those of the ``effort``."""
    return int(settings["iterations"]) or EFFORT_ITERATIONS[str(settings["effort"])]


@register
class OverfitCodec(Codec):
    name = "overfit"
    description = "overfitted per-image CNN (Cool-chic style): slow encoder, fast bit-exact decoder"
    extensions = ()
    interactive = False
    options = (
        CodecOption("effort", "medium", "encoder iterations: fast 500, medium 1500, slow 4000", choices=tuple(EFFORT_ITERATIONS)),
        CodecOption("iterations", 0, "exact number of encoder iterations (0: from effort)", minimum=0, maximum=1_000_000),
        CodecOption("threads", 2, "processes (one core each) that share the encoder's training", minimum=1, maximum=256),
        CodecOption("start", "prior", "the encoder's starting networks: the shipped prior or random", choices=STARTS),
        CodecOption("arm", Architecture.arm_hidden, "hidden width of the latents' probability model (ARM): wider codes "
                    "fewer bits per latent, costs more time per iteration and decodes slower", minimum=1, maximum=MAX_WIDTH),
        CodecOption("rdoq", RDOQ_SWEEPS, "sweeps of rate-distortion optimized rounding of the latents after training "
                    "(0: nearest integers; each sweep about a minute of one core for a 768x512 image)", minimum=0, maximum=8),
    )

    @classmethod
    def sniff(cls, data: bytes) -> bool:
        return model_family(data) == ModelFamily.OVERFITTED

    def encode(self, image: Image.Image, quality: float = DEFAULT_QUALITY, **options) -> bytes:
        self.check_mode(image)
        self.check_size(image)
        if image.width * image.height > MAX_PIXELS:
            raise UnsupportedImageError(f"{self.name} codes images up to {MAX_PIXELS} pixels, got {image.width}x{image.height}")
        settings = self.resolve_options(options)
        data, _ = encode_image(image, check_quality(quality), _iterations(settings), int(settings["threads"]), str(settings["start"]),
                               int(settings["arm"]), int(settings["rdoq"]))
        return data

    def quality_encoder(self, image: Image.Image, **options) -> Callable[[float], bytes]:
        """Every real trial of a rate search is a full encode: warn that it multiplies the encoding time."""
        warnings.warn(
            "the overfit codec trains a model per encode: a rate target costs a search with short previews "
            "and one or more full encodes",
            stacklevel=2,
        )
        return super().quality_encoder(image, **options)

    def preview_encoder(self, image: Image.Image, **options) -> Callable[[float], bytes] | None:
        """Encodes of :data:`PREVIEW_FRACTION` of the iterations, when that is at least :data:`PREVIEW_MIN_ITERATIONS`.

        Previews round to nearest: the rounding search costs about as much as a preview's training, and
        the search corrects from where the real encodes land anyway.
        """
        iterations = _iterations(self.resolve_options(options)) // PREVIEW_FRACTION
        if iterations < PREVIEW_MIN_ITERATIONS:
            return None
        return lambda quality: self.encode(image, quality=quality, **{**options, "iterations": iterations, "rdoq": 0})

    def decode(self, data: bytes) -> Image.Image:
        header, streams = unpack(data)
        if header.family != ModelFamily.OVERFITTED:
            raise CodecUnavailableError("this .cpz file was written by the learned codec, not the overfitted one")
        if header.pixels > MAX_PIXELS:
            raise CorruptDataError(f"corrupt overfitted file: {header.width}x{header.height} exceeds {MAX_PIXELS} pixels")
        expected = 3 if header.mode == "RGBA" else 2
        if len(streams) != expected:
            raise CorruptDataError(f"expected {expected} streams for a {header.mode} overfitted file, found {len(streams)}")
        reference = None if header.weights_hash == NO_WEIGHTS else _installed_prior(header).parameters
        networks, exact, latents = decode_streams(streams[0], streams[1], header.symbols_crc, header.height, header.width, reference)
        if networks.architecture.channels != (1 if header.mode == "L" else 3):
            raise CorruptDataError(f"corrupt overfitted file: {networks.architecture.channels} channels for a {header.mode} image")
        pixels = reconstruct(exact, latents)
        return _image(pixels, header.mode, streams[2] if header.mode == "RGBA" else None)


def _installed_prior(header: CpzHeader) -> Prior:
    """The prior a file's networks are coded relative to, found by its hash; CodecUnavailableError when it is not installed."""
    header.check_model(MODEL_NAME, header.weights_hash)
    prior = installed_priors().get(header.weights_hash)
    if prior is None:
        raise CodecUnavailableError(
            f"this file's networks are coded relative to an overfit-codec prior (hash {header.weights_hash.hex()}) "
            "that is not installed; install the convpress version that wrote it"
        )
    return prior
