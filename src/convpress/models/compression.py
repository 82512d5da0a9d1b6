"""Real compression with the learned models: latents -> integer symbols -> range-coded bytes.

The encoder and the decoder share one procedure per model family, so that every symbol is coded
with exactly the table the decoder will pick:

- hyper-latents ``z``: one integer CDF table per channel (the factorized prior's);
- latents ``y`` (hyperprior models): means and scale indices from the fixed-point networks of
  :mod:`convpress.models.exact` (bit-exact on any machine), anchors first, then the non-anchors
  with the checkerboard context of the decoded anchors;
- latents ``y`` (factorized model): one table per channel.

Transforms (``g_a`` and ``g_s``) run in float32, on overlapping tiles whose margins exceed their
receptive fields, so large images need bounded memory and the tiled result equals the untiled one.
They always run through the same kernels (channels-last oneDNN convolutions, in bfloat16 where the
CPU has it natively, whatever the caller's ``torch.backends.mkldnn`` setting), whose results do
not depend on the thread count: a file
decodes to identical pixels with any number of threads, with the oneDNN flag on or off, in any
process. Float kernels of other CPU families may round a rare pixel differently (by 1); the
entropy decoding itself is exact everywhere, so such a difference never desynchronises a stream.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from convpress.coding.rangecoder import SymbolDecoder, SymbolEncoder, estimate_bits
from convpress.coding.tables import CdfTables
from convpress.models.autoencoders import FactorizedPriorModel, HyperpriorModel, LearnedImageModel
from convpress.models.exact import ACT_BITS, ACT_LIMIT, exact_network, from_fixed_point, to_fixed_point
from convpress.models.layers import anchor_mask

LATENT_STRIDE = 16
"""Image pixels per latent position along each side; images are padded (edge replication) to a multiple."""
TILE_MARGIN = 4
"""Latent positions of overlap on each side of a tile: more than the transforms' receptive fields."""
DEFAULT_TILE = 32
"""Tile side in latent positions (512 pixels) for images too large to transform whole."""
WHOLE_LIMIT = 2
"""Images up to WHOLE_LIMIT tiles a side (1024 pixels) are transformed whole, without tiling."""
PARAMETER_CHUNK = 16384
"""Latent positions per batch of the fixed-point entropy-parameter network (bounds its memory)."""
BAND_ROWS = 32
"""Latent rows per band of the entropy stage (bounds the memory of its fixed-point maps)."""
HYPER_STRIDE = 4
"""Latent positions per hyper-latent position along each side (h_s up-samples 4x)."""
HYPER_HALO = 2
"""Hyper-latent rows read beyond a band: h_s (two 3x3 convolutions) reaches 1.5 of them."""
CONTEXT_HALO = 2
"""Latent rows read beyond a band: the 5x5 checkerboard context reaches 2."""


@dataclass
class CodedLatents:
    """What the coder produced for one image: the stream, the symbols' checksum and the rate estimate."""

    stream: bytes
    checksum: int
    estimated_bits: float


class ModelTables:
    """Integer entropy-coding data of a model, built at export and stored in its weights file."""

    def __init__(self, tables: dict[str, CdfTables], scale_thresholds: np.ndarray | None) -> None:
        self.tables = tables
        self.scale_thresholds = scale_thresholds

    @classmethod
    def build(cls, model: LearnedImageModel, precision: int = 16, tail_mass: float = 1e-9) -> "ModelTables":
        tables = {}
        if isinstance(model, HyperpriorModel):
            tables["z"] = _tables_from(*model.hyper_prior.integer_pmfs(tail_mass), tail_mass, precision)
            tables["y"] = _tables_from(*model.gaussian.integer_pmfs(tail_mass), tail_mass, precision)
            scale_table = model.gaussian.scale_table.double()
            boundaries = torch.sqrt(scale_table[:-1] * scale_table[1:])
            thresholds = torch.ceil(boundaries * 2**ACT_BITS).numpy().astype(np.int64)
            return cls(tables, thresholds)
        tables["y"] = _tables_from(*model.prior.integer_pmfs(tail_mass), tail_mass, precision)
        return cls(tables, None)

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {}
        for name, table in self.tables.items():
            arrays.update(table.to_arrays(prefix=f"tables.{name}."))
        if self.scale_thresholds is not None:
            arrays["tables.scale_thresholds"] = self.scale_thresholds.astype(np.int64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "ModelTables":
        names = sorted({key.split(".")[1] for key in arrays if key.startswith("tables.") and key.count(".") >= 2})
        tables = {name: CdfTables.from_arrays(arrays, prefix=f"tables.{name}.") for name in names}
        thresholds = arrays.get("tables.scale_thresholds")
        return cls(tables, None if thresholds is None else np.asarray(thresholds, dtype=np.int64))


def _tables_from(pmfs: list[np.ndarray], offsets: np.ndarray, tail_mass: float, precision: int) -> CdfTables:
    return CdfTables.from_pmfs(pmfs, offsets, [tail_mass] * len(pmfs), precision)


class LatentCodec:
    """Compresses and decompresses the latents of one model with its integer tables."""

    def __init__(self, model: LearnedImageModel, tables: ModelTables) -> None:
        self.model = model.eval()
        self.model.g_a.to(memory_format=torch.channels_last)
        self.model.g_s.to(memory_format=torch.channels_last)
        self.tables = tables
        if isinstance(model, HyperpriorModel):
            self.exact_h_s = exact_network(model.h_s)
            self.exact_parameters = exact_network(model.entropy_parameters)
            self.exact_context = exact_network(model.context) if model.context is not None else None

    # ----- transforms (float, tiled) -------------------------------------------------------

    def analyze(self, x: torch.Tensor, tile: int = DEFAULT_TILE) -> torch.Tensor:
        """Padded uint8 image [1, 3, H, W] -> latents before gain [1, M, H/16, W/16] (quality-independent).

        The image stays uint8 and each tile is converted to float on its own: the float copy of a
        24-megapixel image alone would take 288 MB.
        """

        def analysis(pixels: torch.Tensor) -> torch.Tensor:
            return self.model.g_a(pixels.float().div_(255.0))

        with fixed_kernels():
            return _tiled(analysis, x, tile * LATENT_STRIDE, TILE_MARGIN * LATENT_STRIDE, 1 / LATENT_STRIDE)

    def synthesize(self, y_hat: torch.Tensor, level: float, tile: int = DEFAULT_TILE) -> torch.Tensor:
        _, decoder_gain = self.model.gain.gains(torch.tensor([level]))
        with fixed_kernels():
            return _tiled(self.model.g_s, y_hat * decoder_gain, tile, TILE_MARGIN, LATENT_STRIDE)

    # ----- entropy coding ------------------------------------------------------------------

    def encode_latents(self, y: torch.Tensor) -> tuple[CodedLatents, torch.Tensor]:
        """Code the latents; returns the stream and the dequantized latents the decoder will see."""
        encoder = SymbolEncoder()
        bits = 0.0

        def code(symbols: np.ndarray, index: np.ndarray, table: CdfTables) -> None:
            nonlocal bits
            encoder.encode(symbols, index, table)
            bits += estimate_bits(symbols, index, table)

        if isinstance(self.model, FactorizedPriorModel):
            symbols = torch.round(y).numpy().astype(np.int32)
            code(symbols, _channel_index(symbols.shape), self.tables.tables["y"])
            y_hat = torch.from_numpy(symbols.astype(np.float32))
        else:
            # The hyper-transforms need a grid of whole hyper-latents: the encoder extends the
            # latents by replication for h_a only; the extension is never coded (see _code_gaussian).
            z_symbols = torch.round(self.model.h_a(pad_to_multiple(y, HYPER_STRIDE))).numpy().astype(np.int32)
            code(z_symbols, _channel_index(z_symbols.shape), self.tables.tables["z"])
            y_hat = self._code_gaussian(y, z_symbols, code_or_decode=code, latent_shape=tuple(y.shape[2:]))
        return CodedLatents(encoder.finish(), encoder.checksum, bits), y_hat

    def decode_latents(self, stream: bytes, latent_shape: tuple[int, int], expected_checksum: int) -> torch.Tensor:
        """The dequantized latents [1, M, h, w] of a stream; CorruptDataError if it does not check out."""
        decoder = SymbolDecoder(stream)
        channels = self.model.config["latent"]
        height, width = latent_shape
        if isinstance(self.model, FactorizedPriorModel):
            shape = (1, channels, height, width)
            symbols = decoder.decode(_channel_index(shape), self.tables.tables["y"])
            y_hat = torch.from_numpy(symbols.astype(np.float32))
        else:
            hyper_channels = self.model.config["hyper"]
            z_shape = (1, hyper_channels, -(-height // HYPER_STRIDE), -(-width // HYPER_STRIDE))
            z_symbols = decoder.decode(_channel_index(z_shape), self.tables.tables["z"])

            def decode(symbols: np.ndarray | None, index: np.ndarray, table: CdfTables) -> np.ndarray:
                return decoder.decode(index, table)

            y_hat = self._code_gaussian(None, z_symbols, code_or_decode=decode, latent_shape=latent_shape)
        decoder.verify(expected_checksum)
        return y_hat

    def _code_gaussian(
        self,
        y: torch.Tensor | None,
        z_symbols: np.ndarray,
        code_or_decode: Callable,
        latent_shape: tuple[int, int],
    ) -> torch.Tensor:
        """The two-pass (anchors, then the rest) Gaussian coding shared by encoder and decoder.

        With ``y`` given it encodes (``code_or_decode(symbols, index, tables)``); with ``y`` None it
        decodes (``code_or_decode(None, index, tables)`` returns the symbols). The hyper-latents
        cover a grid of whole multiples of :data:`HYPER_STRIDE`; only the ``latent_shape`` corner
        of it belongs to the image, and only those latents are coded: the others are zeros, known
        to both sides, so padding costs (almost) nothing. Each pass is one
        coder call over all its positions (channel-major, raster order), but its entropy
        parameters are computed in bands of latent rows (:meth:`_band_parameters`): exact
        arithmetic makes the banded result identical to the whole-image one, and the fixed-point
        maps of a 24-megapixel image would otherwise take gigabytes.
        """
        z_fixed = to_fixed_point(torch.from_numpy(z_symbols.astype(np.float64)))
        channels = self.model.config["latent"]
        height, width = z_fixed.shape[2] * HYPER_STRIDE, z_fixed.shape[3] * HYPER_STRIDE
        # Fixed-point values stay within +-2^20 (ACT_LIMIT): float32 holds them exactly at half the memory.
        y_hat_fixed = torch.zeros(1, channels, height, width)
        inside = torch.zeros(1, 1, height, width, dtype=torch.bool)
        inside[:, :, : latent_shape[0], : latent_shape[1]] = True
        if self.exact_context is None:
            passes = [inside]
        else:
            anchors = anchor_mask(height, width)
            passes = [anchors & inside, ~anchors & inside]
        bands = len(range(0, height, BAND_ROWS))
        progress = tqdm(total=len(passes) * bands, desc="entropy coding", unit="band", leave=False,
                        disable=None if bands > 1 else True)
        for number, positions in enumerate(passes):
            means, scale_index = self._pass_parameters(z_fixed, y_hat_fixed, number, positions, progress)
            selected = positions.expand(1, channels, height, width)
            if y is not None:
                symbols = torch.round(y[selected[:, :, : y.shape[2], : y.shape[3]]].double().view(channels, -1) - from_fixed_point(means.double()))
                symbols = symbols.numpy().astype(np.int32)
                code_or_decode(symbols, scale_index, self.tables.tables["y"])
            else:
                symbols = code_or_decode(None, scale_index, self.tables.tables["y"])
            values = torch.from_numpy(symbols.astype(np.float32)).mul_(2**ACT_BITS).add_(means)
            # The clamp keeps the context network's input within the bounds its exactness was
            # proven for (and float32 exact); only absurd latents (> 4096) ever reach it.
            y_hat_fixed[selected] = values.clamp_(-ACT_LIMIT, ACT_LIMIT).reshape(-1)
        progress.close()
        return y_hat_fixed[:, :, : latent_shape[0], : latent_shape[1]].mul_(2.0**-ACT_BITS)  # = from_fixed_point

    def _pass_parameters(
        self, z_fixed: torch.Tensor, y_hat_fixed: torch.Tensor, pass_number: int, positions: torch.Tensor, progress: tqdm
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Fixed-point means (float32) and scale indices [M, P] of one pass, band after band."""
        height = y_hat_fixed.shape[2]
        bands = []
        for top in range(0, height, BAND_ROWS):
            bands.append(self._band_parameters(z_fixed, y_hat_fixed, pass_number, positions, top, min(top + BAND_ROWS, height)))
            progress.update(1)
        means = torch.cat([band_means for band_means, _ in bands], dim=1)
        return means, np.concatenate([band_index for _, band_index in bands], axis=1)

    def _band_parameters(
        self, z_fixed: torch.Tensor, y_hat_fixed: torch.Tensor, pass_number: int, positions: torch.Tensor, top: int, bottom: int
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Fixed-point means (float32) and scale indices [M, P] of one pass at latent rows top..bottom."""
        hyper = _band(self.exact_h_s, z_fixed, top, bottom, HYPER_HALO, HYPER_STRIDE)
        context = None
        if self.exact_context is not None and pass_number > 0:  # the anchors (pass 0) have no context
            context = _band(self.exact_context, y_hat_fixed, top, bottom, CONTEXT_HALO, 1)
        means, scale_index = self._parameters(hyper, context, positions[:, :, top:bottom])
        return means.float(), scale_index

    def _parameters(self, hyper: torch.Tensor, context: torch.Tensor | None, positions: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
        """Fixed-point means [M, P] and scale-table indices [M, P] at the selected positions."""
        sources = [hyper.flatten(2)] + ([] if context is None else [context.flatten(2)])
        missing_context = self.exact_parameters[0].weight.shape[1] - hyper.shape[1] if context is None else 0
        flat = positions.flatten().nonzero().flatten()
        outputs = self.exact_parameters[-1].weight.shape[0]
        columns = [torch.zeros(outputs, 0, dtype=hyper.dtype)]  # a band may hold none of the pass's positions
        for start in range(0, flat.numel(), PARAMETER_CHUNK):  # 1x1 layers only: positions are independent
            chunk = flat[start : start + PARAMETER_CHUNK]
            parts = [source[:, :, chunk] for source in sources]
            if missing_context:  # anchors: the context part of the input is zero
                parts.append(torch.zeros(1, missing_context, chunk.numel(), dtype=hyper.dtype))
            gathered = torch.cat(parts, dim=1).unsqueeze(-1)
            columns.append(self.exact_parameters(gathered)[0, :, :, 0])
        means, scales = torch.cat(columns, dim=1).chunk(2, dim=0)
        scale_index = np.searchsorted(self.tables.scale_thresholds, scales.numpy().astype(np.int64), side="right")
        return means, scale_index.astype(np.int32)


def _band(network: nn.Module, source: torch.Tensor, top: int, bottom: int, halo: int, stride: int) -> torch.Tensor:
    """Rows top..bottom (output units) of an exact ``network`` run on a band of ``source`` only.

    ``network`` maps source rows to ``stride`` output rows each; the band is read with ``halo``
    source rows on either side, more than the network's reach, and those rows are cropped away.
    Exact arithmetic makes the result equal to the same rows of the whole map.
    """
    first = max(0, top // stride - halo)
    last = min(source.shape[2], -(-bottom // stride) + halo)
    out = network(source[:, :, first:last].double())
    offset = top - first * stride
    return out[:, :, offset : offset + bottom - top]


def native_bfloat16() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (AVX512-BF16 / AMX) through oneDNN."""
    return torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@contextmanager
def fixed_kernels() -> Iterator[None]:
    """Run the transforms through oneDNN whatever the global setting, in bfloat16 where native.

    The models are trained with bfloat16 transforms, so bfloat16 inference costs no quality
    (measured within 0.02 dB) and is ~3x faster on CPUs that have it.
    """
    with warnings.catch_warnings():
        # Toggling the flag makes torch warn about Intel-GPU TF32, which is irrelevant here.
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=torch.backends.mkldnn.is_available()):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=native_bfloat16()):
                yield


def _channel_index(shape: tuple[int, ...]) -> np.ndarray:
    """Table index = channel, for tensors [1, C, H, W] coded with one table per channel."""
    return np.broadcast_to(np.arange(shape[1], dtype=np.int32).reshape(1, -1, 1, 1), shape)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate the last row/column so both sides are multiples of ``multiple``."""
    height, width = x.shape[2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h:  # by concatenation, which (unlike F.pad's replicate mode) works for uint8 too
        x = torch.cat([x, x[:, :, -1:].expand(-1, -1, pad_h, -1)], dim=2)
    if pad_w:
        x = torch.cat([x, x[:, :, :, -1:].expand(-1, -1, -1, pad_w)], dim=3)
    return x


def _tiled(network: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, margin: int, scale: float, progress: bool = True) -> torch.Tensor:
    """Apply ``network`` (resolution factor ``scale``) on overlapping tiles and stitch the centres.

    ``tile`` and ``margin`` are in input positions. With margins larger than the network's receptive
    field, every output position sees exactly the inputs it would see untiled.
    """
    height, width = x.shape[2:]
    if height <= WHOLE_LIMIT * tile and width <= WHOLE_LIMIT * tile:
        return network(x.contiguous(memory_format=torch.channels_last)).float().contiguous()
    output: torch.Tensor | None = None  # filled tile by tile: no list of tiles to concatenate
    tiles = tqdm(total=-(-height // tile) * -(-width // tile), desc="tiles", unit="tile", leave=False,
                 disable=None if progress else True)
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            tiles.update(1)
            t0, l0 = max(0, top - margin), max(0, left - margin)
            t1, l1 = min(height, top + tile + margin), min(width, left + tile + margin)
            out = network(x[:, :, t0:t1, l0:l1].contiguous(memory_format=torch.channels_last))
            if output is None:
                output = torch.empty(x.shape[0], out.shape[1], round(height * scale), round(width * scale))
            ct, cl = round((top - t0) * scale), round((left - l0) * scale)
            ch = round((min(top + tile, height) - top) * scale)
            cw = round((min(left + tile, width) - left) * scale)
            row, column = round(top * scale), round(left * scale)
            output[:, :, row : row + ch, column : column + cw] = out[:, :, ct : ct + ch, cl : cl + cw].float()
    tiles.close()
    assert output is not None
    return output
