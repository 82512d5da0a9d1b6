"""What an overfitted ``.cpz`` file carries: the networks' quantized parameters and the latents.

Two streams follow the container header (``docs/format.md`` section 5 and ``docs/overfit.md``):

0. the *configuration*, 15 plain bytes: layout version, number of latent levels, ARM width,
   synthesis width, image channels, then for each parameter group (upsampling taps, ARM weights,
   ARM biases, synthesis weights, synthesis biases) its quantization exponent ``k`` (step
   ``2**-k``) and the index of the zero-mean Laplace table that codes it;
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
from convpress.overfit.fixedpoint import MAX_PARAMETER_BITS
from convpress.overfit.laplace import SCALES, laplace_tables, zero_mean_table
from convpress.overfit.latents import ExactUpsampler, Upsampler, level_shapes
from convpress.overfit.synthesis import ExactSynthesis, Synthesis

LAYOUT_VERSION = 4
"""4: the odd columns of each latent row read its even ones, decoded a step earlier (:data:`~convpress.overfit.arm.ROW_PASSES`).
Still read: 3 (a row in one step, parameters coded as differences from the reference) and 2 (layout
3 without a reference). Not read: 1 (four phase passes per level)."""
READABLE_LAYOUTS = (2, 3, 4)
GROUPS = ("upsampling", "arm.weight", "arm.bias", "synthesis.weight", "synthesis.bias")
MAX_LEVELS = 12
MAX_WIDTH = 128
CONFIG_BYTES = 5 + 2 * len(GROUPS)


@dataclass(frozen=True)
class Architecture:
    """The sizes that fix every network's shape; stored in the configuration stream."""

    levels: int = 7
    arm_hidden: int = 16
    synthesis_hidden: int = 16
    channels: int = 3
    row_passes: bool = True
    """The ARM context of stream layout 4 (False: layouts 2 and 3, see :mod:`convpress.overfit.arm`)."""

    def __post_init__(self) -> None:
        if not (1 <= self.levels <= MAX_LEVELS and 1 <= self.arm_hidden <= MAX_WIDTH and 1 <= self.synthesis_hidden <= MAX_WIDTH):
            raise ValueError(f"architecture out of range: {self}")
        if self.channels not in (1, 3):
            raise ValueError(f"the synthesis outputs 1 or 3 channels, not {self.channels}")

    @property
    def context(self) -> Context:
        return ROW_PASSES if self.row_passes else ROWS_ABOVE


def float_networks(architecture: Architecture) -> dict[str, nn.Module]:
    """The trainable networks, keyed by the prefix of their parameter names."""
    return {
        "upsampling": Upsampler(architecture.levels),
        "arm": Arm(architecture.arm_hidden, architecture.context),
        "synthesis": Synthesis(architecture.levels, architecture.synthesis_hidden, architecture.channels),
    }


def group_of(name: str) -> str:
    """The quantization group of a parameter named ``<network>.<path>``."""
    network = name.split(".")[0]
    if network == "upsampling":
        return network
    return f"{network}.{'bias' if name.endswith('bias') else 'weight'}"


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
                if group_of(name) == group
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

    def linear_layers(prefix: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
        weights = [name for name in values if name.startswith(prefix) and name.endswith("weight")]
        return [(values[name], values[name[: -len("weight")] + "bias"]) for name in weights]

    bits = networks.bits
    return ExactNetworks(
        ExactUpsampler(values["upsampling.taps"], bits["upsampling"]),
        ExactArm(linear_layers("arm."), bits["arm.weight"], bits["arm.bias"], networks.architecture.context),
        ExactSynthesis(linear_layers("synthesis."), bits["synthesis.weight"], bits["synthesis.bias"]),
    )


def config_bytes(networks: QuantizedNetworks) -> bytes:
    arch = networks.architecture
    layout = LAYOUT_VERSION if arch.row_passes else 3
    fields = [layout, arch.levels, arch.arm_hidden, arch.synthesis_hidden, arch.channels]
    for group in GROUPS:
        fields += [networks.bits[group], networks.tables[group]]
    return bytes(fields)


def parse_config(data: bytes) -> tuple[Architecture, dict[str, int], dict[str, int]]:
    """Architecture, exponents and tables from the configuration stream; CorruptDataError if invalid."""
    if len(data) != CONFIG_BYTES:
        raise CorruptDataError(f"corrupt overfitted file: configuration of {len(data)} bytes, expected {CONFIG_BYTES}")
    if data[0] not in READABLE_LAYOUTS:
        readable = " and ".join(map(str, READABLE_LAYOUTS))
        raise CorruptDataError(f"overfitted stream layout {data[0]} is not supported (this convpress reads {readable})")
    try:
        architecture = Architecture(*data[1:5], row_passes=data[0] >= 4)
    except ValueError as exc:
        raise CorruptDataError(f"corrupt overfitted file: {exc}") from exc
    pairs = [(data[5 + 2 * i], data[6 + 2 * i]) for i in range(len(GROUPS))]
    if any(bits > MAX_PARAMETER_BITS or table >= SCALES for bits, table in pairs):
        raise CorruptDataError("corrupt overfitted file: a parameter group has an invalid exponent or table")
    return architecture, {g: p[0] for g, p in zip(GROUPS, pairs)}, {g: p[1] for g, p in zip(GROUPS, pairs)}


def _group_table_index(networks_tables: dict[str, int], group: str, count: int) -> np.ndarray:
    return np.full(count, zero_mean_table(networks_tables[group]), dtype=np.int32)


def encode_streams(networks: QuantizedNetworks, latents: list[np.ndarray], exact: ExactNetworks) -> tuple[bytes, bytes, int]:
    """The configuration stream, the symbol stream and the symbols checksum."""
    tables = laplace_tables()
    encoder = SymbolEncoder()
    for group in GROUPS:
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
    for group in GROUPS:
        names = [name for name in shapes if group_of(name) == group]
        sizes = [int(np.prod(shapes[name])) for name in names]
        flat = decoder.decode(_group_table_index(table_choice, group, sum(sizes)), tables).astype(np.int64)
        for name, chunk in zip(names, np.split(flat, np.cumsum(sizes)[:-1])):
            decoded[name] = chunk.reshape(shapes[name]) + reference_integers(reference, name, shapes[name], bits[group])
    networks = QuantizedNetworks(architecture, bits, decoded, table_choice, reference)
    exact = exact_networks(networks)
    latents = code_latents(exact.arm, level_shapes(height, width, architecture.levels), lambda _, index: decoder.decode(index, tables))
    decoder.verify(checksum)
    return networks, exact, latents
