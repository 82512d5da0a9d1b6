"""What an overfitted ``.cpz`` file carries: the networks' quantized parameters and the latents.

Two streams follow the container header (``docs/format.md`` section 5 and ``docs/overfit.md``):

0. the *configuration*: layout version, number of latent levels, ARM width, synthesis width,
   image channels (a byte each), then for each parameter group its quantization exponent ``k``
   (step ``2**-k``) and the index of the zero-mean Laplace table that codes it. From layout 5 each
   parameter tensor is a group (upsampling taps, then each layer's weight and bias, ARM before
   synthesis: 15 groups), its exponent and table packed in 10 bits (4 + 6, big-endian, the last
   byte padded with zeros); layouts 2 to 4 had five groups (upsampling taps, ARM weights, ARM
   biases, synthesis weights, synthesis biases) of two bytes each;
1. the *symbols*, one range-coded stream: each parameter group (its parameters in the networks'
   declaration order, C order within a tensor, as integers ``round(p * 2**k)`` minus the
   *reference*'s ``round(r * 2**k)``), then the latents as :func:`convpress.overfit.arm.code_latents`
   codes them (coarsest level first, row by row).

The reference is the encoder's starting networks (the prior, :mod:`convpress.overfit.prior`),
named by the container header's weights hash; a parameter the reference lacks (another shape, or
no reference: hash zero) is coded whole.

The header's symbols checksum covers both, in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from convpress.coding.rangecoder import SymbolDecoder, SymbolEncoder
from convpress.errors import CorruptDataError
from convpress.overfit.arm import ROW_PASSES, ROWS_ABOVE, Arm, Context, ExactArm, code_latents
from convpress.overfit.fixedpoint import MAX_PARAMETER_BITS, ExactLayer
from convpress.overfit.laplace import SCALES, laplace_tables, zero_mean_table
from convpress.overfit.latents import ExactUpsampler, Upsampler, level_shapes
from convpress.overfit.synthesis import ExactSynthesis, Synthesis

LAYOUT_VERSION = 5
"""5: every parameter tensor has its own quantization exponent and table (:attr:`Architecture.tensor_groups`).
Still read: 4 (the odd columns of each latent row read its even ones, decoded a step earlier:
:data:`~convpress.overfit.arm.ROW_PASSES`), 3 (a row in one step, parameters coded as
differences from the reference) and 2 (layout 3 without a reference). Not read: 1 (four phase
passes per level)."""
READABLE_LAYOUTS = (2, 3, 4, 5)
NETWORK_GROUPS = ("upsampling", "arm.weight", "arm.bias", "synthesis.weight", "synthesis.bias")
"""The parameter groups of layouts 2 to 4: weights, or biases, of a network."""
MAX_LEVELS = 12
MAX_WIDTH = 128
SIZE_BYTES = 5
"""The configuration's layout version and architecture sizes, before the groups' exponents and tables."""
EXPONENT_BITS, TABLE_BITS = 4, 6
"""Bits of a group's exponent and table index in a layout-5 configuration."""


@dataclass(frozen=True)
class Architecture:
    """The sizes that fix every network's shape; stored in the configuration stream."""

    levels: int = 7
    arm_hidden: int = 16
    synthesis_hidden: int = 16
    channels: int = 3
    row_passes: bool = True
    """The ARM context of stream layouts 4 and 5 (False: layouts 2 and 3, see :mod:`convpress.overfit.arm`)."""
    tensor_groups: bool = True
    """Every parameter tensor quantized with its own step (layout 5; False: per network and kind, layouts 2 to 4).
    On kodim23 after 4 000 iterations the networks' code length fell from 0.0203 to 0.0179 bpp."""

    def __post_init__(self) -> None:
        if not (1 <= self.levels <= MAX_LEVELS and 1 <= self.arm_hidden <= MAX_WIDTH and 1 <= self.synthesis_hidden <= MAX_WIDTH):
            raise ValueError(f"architecture out of range: {self}")
        if self.tensor_groups and not self.row_passes:
            raise ValueError("per-tensor quantization (layout 5) comes with the row-pass context (layout 4)")
        if self.channels not in (1, 3):
            raise ValueError(f"the synthesis outputs 1 or 3 channels, not {self.channels}")

    @property
    def context(self) -> Context:
        return ROW_PASSES if self.row_passes else ROWS_ABOVE

    @property
    def layout(self) -> int:
        """The stream layout that stores networks of this architecture."""
        return LAYOUT_VERSION if self.tensor_groups else 4 if self.row_passes else 3

    def groups(self) -> list[str]:
        """The quantization groups, in coding order (see the module docstring)."""
        return list(parameter_shapes(self)) if self.tensor_groups else list(NETWORK_GROUPS)

    def group_of(self, name: str) -> str:
        """The quantization group of a parameter named ``<network>.<path>``."""
        if self.tensor_groups:
            return name
        network = name.split(".")[0]
        if network == "upsampling":
            return network
        return f"{network}.{'bias' if name.endswith('bias') else 'weight'}"


def float_networks(architecture: Architecture) -> dict[str, nn.Module]:
    """The trainable networks, keyed by the prefix of their parameter names."""
    return {
        "upsampling": Upsampler(architecture.levels),
        "arm": Arm(architecture.arm_hidden, architecture.context),
        "synthesis": Synthesis(architecture.levels, architecture.synthesis_hidden, architecture.channels),
    }


Reference = dict[str, torch.Tensor]
"""Float parameters by name that a file's parameters are coded relative to (the prior's)."""


def to_integers(parameter: torch.Tensor, exponent: int) -> np.ndarray:
    """A float parameter in integer units of ``2**-exponent``, rounded to nearest."""
    return torch.round(parameter.double() * 2**exponent).numpy().astype(np.int64)


def reference_integers(reference: Reference | None, name: str, shape: tuple[int, ...], exponent: int) -> np.ndarray:
    """The reference's parameter ``name`` in units of ``2**-exponent``; zeros where it has none of that shape."""
    value = None if reference is None else reference.get(name)
    if value is None or tuple(value.shape) != tuple(shape):
        return np.zeros(shape, dtype=np.int64)
    return to_integers(value, exponent)


def parameter_shapes(architecture: Architecture) -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape, in coding order."""
    return {
        f"{prefix}.{name}": tuple(parameter.shape)
        for prefix, network in float_networks(architecture).items()
        for name, parameter in network.named_parameters()
    }


@dataclass
class QuantizedNetworks:
    """The networks as the file stores them: integer parameters and, per group, ``k`` and a table."""

    architecture: Architecture
    bits: dict[str, int]
    """Quantization exponent of each group: parameters are integers in units of ``2**-k``."""
    values: dict[str, np.ndarray]
    """int64 parameters by name (see :func:`parameter_shapes`)."""
    tables: dict[str, int]
    """Scale index of the zero-mean Laplace table that codes each group."""
    reference: Reference | None = None
    """What the parameters are coded relative to (see the module docstring)."""

    def coded_values(self, group: str) -> np.ndarray:
        """The integers the file codes for ``group``: each parameter minus the reference's, flattened."""
        return np.concatenate(
            [
                (value - reference_integers(self.reference, name, value.shape, self.bits[group])).reshape(-1)
                for name, value in self.values.items()
                if self.architecture.group_of(name) == group
            ]
        )


@dataclass
class ExactNetworks:
    upsampler: ExactUpsampler
    arm: ExactArm
    synthesis: ExactSynthesis


def exact_networks(networks: QuantizedNetworks) -> ExactNetworks:
    """The integer evaluators of quantized networks (CorruptDataError for absurd parameters)."""
    values = {name: torch.from_numpy(v.astype(np.float64)) for name, v in networks.values.items()}

    def exponent(name: str) -> int:
        return networks.bits[networks.architecture.group_of(name)]

    def linear_layers(prefix: str) -> list[ExactLayer]:
        weights = [name for name in values if name.startswith(prefix) and name.endswith("weight")]
        biases = [name[: -len("weight")] + "bias" for name in weights]
        return [ExactLayer(values[w], values[b], exponent(w), exponent(b)) for w, b in zip(weights, biases)]

    return ExactNetworks(
        ExactUpsampler(values["upsampling.taps"], exponent("upsampling.taps")),
        ExactArm(linear_layers("arm."), networks.architecture.context),
        ExactSynthesis(linear_layers("synthesis.")),
    )


def config_bytes(networks: QuantizedNetworks) -> bytes:
    arch = networks.architecture
    sizes = bytes([arch.layout, arch.levels, arch.arm_hidden, arch.synthesis_hidden, arch.channels])
    pairs = [(networks.bits[group], networks.tables[group]) for group in arch.groups()]
    if not arch.tensor_groups:
        return sizes + bytes(field for pair in pairs for field in pair)
    packed = 0
    for exponent, table in pairs:
        packed = (packed << EXPONENT_BITS | exponent) << TABLE_BITS | table
    length = -(-len(pairs) * (EXPONENT_BITS + TABLE_BITS) // 8)
    return sizes + (packed << (8 * length - len(pairs) * (EXPONENT_BITS + TABLE_BITS))).to_bytes(length, "big")


def parse_config(data: bytes) -> tuple[Architecture, dict[str, int], dict[str, int]]:
    """Architecture, exponents and tables from the configuration stream; CorruptDataError if invalid."""
    if len(data) < SIZE_BYTES:
        raise CorruptDataError(f"corrupt overfitted file: configuration of {len(data)} bytes")
    if data[0] not in READABLE_LAYOUTS:
        readable = ", ".join(map(str, READABLE_LAYOUTS[:-1])) + f" and {READABLE_LAYOUTS[-1]}"
        raise CorruptDataError(f"overfitted stream layout {data[0]} is not supported (this convpress reads {readable})")
    try:
        architecture = Architecture(*data[1:SIZE_BYTES], row_passes=data[0] >= 4, tensor_groups=data[0] >= 5)
    except ValueError as exc:
        raise CorruptDataError(f"corrupt overfitted file: {exc}") from exc
    groups = architecture.groups()
    pairs = _group_pairs(data[SIZE_BYTES:], len(groups), architecture.tensor_groups)
    if any(bits > MAX_PARAMETER_BITS or table >= SCALES for bits, table in pairs):
        raise CorruptDataError("corrupt overfitted file: a parameter group has an invalid exponent or table")
    return architecture, {g: p[0] for g, p in zip(groups, pairs)}, {g: p[1] for g, p in zip(groups, pairs)}


def _group_pairs(data: bytes, count: int, packed: bool) -> list[tuple[int, int]]:
    """The (exponent, table) of ``count`` groups: packed in 10 bits each (layout 5) or two bytes each."""
    width = EXPONENT_BITS + TABLE_BITS
    expected = -(-count * width // 8) if packed else 2 * count
    if len(data) != expected:
        raise CorruptDataError(f"corrupt overfitted file: {len(data)} bytes of parameter groups, expected {expected}")
    if not packed:
        return [(data[2 * i], data[2 * i + 1]) for i in range(count)]
    value = int.from_bytes(data, "big") >> (8 * len(data) - count * width)
    fields = [(value >> (width * (count - 1 - i))) & ((1 << width) - 1) for i in range(count)]
    return [(field >> TABLE_BITS, field & ((1 << TABLE_BITS) - 1)) for field in fields]


def _group_table_index(networks_tables: dict[str, int], group: str, count: int) -> np.ndarray:
    return np.full(count, zero_mean_table(networks_tables[group]), dtype=np.int32)


def encode_streams(networks: QuantizedNetworks, latents: list[np.ndarray], exact: ExactNetworks) -> tuple[bytes, bytes, int]:
    """The configuration stream, the symbol stream and the symbols checksum."""
    tables = laplace_tables()
    encoder = SymbolEncoder()
    for group in networks.architecture.groups():
        values = networks.coded_values(group)
        encoder.encode(values, _group_table_index(networks.tables, group, values.size), tables)

    def code(values: np.ndarray | None, index: np.ndarray) -> np.ndarray:
        encoder.encode(values, index, tables)
        return values

    shapes = [grid.shape for grid in latents]
    code_latents(exact.arm, shapes, code, latents)
    return config_bytes(networks), encoder.finish(), encoder.checksum


def decode_streams(
    config: bytes, symbols: bytes, checksum: int, height: int, width: int, reference: Reference | None = None
) -> tuple[QuantizedNetworks, ExactNetworks, list[np.ndarray]]:
    """Networks and integer latents of a file whose parameters are coded relative to ``reference``.

    CorruptDataError when anything does not check out.
    """
    architecture, bits, table_choice = parse_config(config)
    tables = laplace_tables()
    decoder = SymbolDecoder(symbols)
    shapes = parameter_shapes(architecture)
    decoded = {}
    for group in architecture.groups():
        names = [name for name in shapes if architecture.group_of(name) == group]
        sizes = [int(np.prod(shapes[name])) for name in names]
        flat = decoder.decode(_group_table_index(table_choice, group, sum(sizes)), tables).astype(np.int64)
        for name, chunk in zip(names, np.split(flat, np.cumsum(sizes)[:-1])):
            decoded[name] = chunk.reshape(shapes[name]) + reference_integers(reference, name, shapes[name], bits[group])
    networks = QuantizedNetworks(architecture, bits, decoded, table_choice, reference)
    exact = exact_networks(networks)
    latents = code_latents(exact.arm, level_shapes(height, width, architecture.levels), lambda _, index: decoder.decode(index, tables))
    decoder.verify(checksum)
    return networks, exact, latents
