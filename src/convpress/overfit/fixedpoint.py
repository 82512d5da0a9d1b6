"""Integer arithmetic for the overfitted codec's decoder, identical on every machine.

The decoder of an overfitted codec runs three small networks (upsampling filters, the
autoregressive probability model, the synthesis). A float result that differs in its last bit
between two machines would pick another probability table and desynchronise the range decoder,
or change a pixel. So, as in :mod:`convpress.models.exact`, the decoder computes on integers held
in float64 tensors: activations are integers in units of ``2**-FRACTION_BITS``, a parameter
quantized with step ``2**-k`` is the integer ``round(p * 2**k)``, every product and partial sum is
an integer below 2^53 (checked when a layer is built), so any summation order gives the same
result, and every rescaling rounds with ``floor(x / 2**k + 1/2)``, which is exact too.

Unlike :mod:`convpress.models.exact` the rescaling rounds to nearest rather than down: the
synthesis chains several layers whose output is an image, and a floor in every layer would bias
every pixel by about half a unit per layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from convpress.errors import CorruptDataError

FRACTION_BITS = 12
"""Activations are integers in units of 2^-12."""
ONE = float(2**FRACTION_BITS)
ACTIVATION_LIMIT = float(2 ** (FRACTION_BITS + 12))
"""|activation| < 4096 in real units; values beyond are clamped (both in the encoder and decoder)."""
EXACT_LIMIT = 2.0**53
MAX_PARAMETER_BITS = 12
"""Parameters are quantized with steps 2^-k, k = 0 .. 12."""


def round_shift(accumulator: torch.Tensor, bits: int) -> torch.Tensor:
    """``floor(accumulator / 2**bits + 1/2)`` of integer-valued float64: exact for any input."""
    if bits == 0:
        return accumulator
    return torch.floor((accumulator + float(2 ** (bits - 1))) * 2.0**-bits)


def clamp_activation(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x, -ACTIVATION_LIMIT, ACTIVATION_LIMIT)


def to_fixed(values: torch.Tensor) -> torch.Tensor:
    """Integer latents (or any integers) -> clamped fixed point."""
    return clamp_activation(values.double() * ONE)


def check_exact_sum(fan_in: int, weights: torch.Tensor, bias: torch.Tensor | None, what: str) -> None:
    """CorruptDataError unless ``fan_in`` products of activations and ``weights`` stay below 2^53.

    Decoded parameters come from the file, so an absurd value means a damaged file, not a bug.
    """
    largest_weight = float(weights.abs().max()) if weights.numel() else 0.0
    largest_bias = float(bias.abs().max()) if bias is not None and bias.numel() else 0.0
    worst = fan_in * ACTIVATION_LIMIT * largest_weight + largest_bias
    if worst >= EXACT_LIMIT:
        raise CorruptDataError(f"corrupt overfitted model: {what} parameters are too large to evaluate exactly")


@dataclass(frozen=True)
class ExactLayer:
    """A quantized layer: integer weight and bias in units of ``2**-weight_bits`` and ``2**-bias_bits``."""

    weight: torch.Tensor
    bias: torch.Tensor
    weight_bits: int
    bias_bits: int


class ExactLinear:
    """``W @ x + b`` on fixed-point columns, with W and b integers of ``weight_bits``/``bias_bits``.

    Inputs and outputs are feature-major ([features, N]), so that feature rows stay contiguous.
    The accumulator is in units of 2^-(FRACTION_BITS + weight_bits); the bias is brought to those
    units (an exact multiplication by a power of two, since ``bias_bits <= FRACTION_BITS +
    weight_bits``) together with the half unit of the rounding, and the sum is rounded back to
    2^-FRACTION_BITS in place. ``relu`` folds the ReLU into the final clamp.
    """

    def __init__(
        self, weight: torch.Tensor, bias: torch.Tensor, weight_bits: int, bias_bits: int, what: str, relu: bool = False
    ) -> None:
        self.weight = weight.double().reshape(weight.shape[0], -1)
        self.bias = bias.double() * float(2 ** (FRACTION_BITS + weight_bits - bias_bits))
        check_exact_sum(self.weight.shape[1], self.weight, self.bias, what)
        half = float(2 ** (weight_bits - 1)) if weight_bits else 0.0
        self.rounded_bias = (self.bias + half)[:, None]
        self.scale = 2.0**-weight_bits
        self.lower = 0.0 if relu else -ACTIVATION_LIMIT

    def __call__(self, columns: torch.Tensor, partial: torch.Tensor | None = None) -> torch.Tensor:
        """columns [fan_in, N] -> [out, N], both fixed point.

        With ``partial`` (see :meth:`partial_sum`), ``columns`` holds only the leading features.
        """
        if partial is None:
            accumulator = torch.addmm(self.rounded_bias, self.weight, columns)
        else:
            accumulator = torch.addmm(partial, self.weight[:, : columns.shape[0]], columns)
        return accumulator.mul_(self.scale).floor_().clamp_(self.lower, ACTIVATION_LIMIT)

    def partial_sum(self, columns: torch.Tensor, first: int) -> torch.Tensor:
        """The unrounded accumulator of the features from ``first`` on ([..., fan_in - first, N] -> [..., out, N]).

        For inputs whose trailing features are known long before the leading ones: the products
        are integers below 2^53, so splitting the sum changes no bit of the result.
        """
        return torch.matmul(self.weight[:, first:], columns).add_(self.rounded_bias)
