"""Sums of per-row-band losses whose gradients are computed band by band, while the band is in cache.

The encoder's networks are tiny (16 channels) and the image is large, so on the whole image every
layer, ReLU and their backward passes stream tens of megabytes of [pixels, 16] activations through
memory. Evaluating a loss that is a sum over row bands (a band's rows plus the halo rows its
convolutions read) with forward *and* backward done band by band keeps the activations in the
core's cache: at 768x512, bands of ~32 k latents or pixels made the ARM's rate about 28 % and the
synthesis' error about 15 % cheaper to differentiate than whole-image evaluation. :class:`BandedSum`
does that inside one autograd node: its forward computes the loss and already the gradients, which
its backward only scales.

In a parallel encode (:mod:`convpress.overfit.parallel`) each process evaluates only its share
of the bands, and the processes add their results up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from convpress.overfit.parallel import my_bands

BandLoss = Callable[..., torch.Tensor]
"""``loss(x_band, band_info, *parameters)``: the scalar loss of one band of ``x``."""


class BandedSum(torch.autograd.Function):
    """``sum(loss(x[:, :, lo:hi], info, *parameters) for lo, hi, info in bands)``, differentiable in x and parameters.

    ``row_cost`` is the work of one row of ``x`` (its latents or pixels), for sharing bands out.

    Bands may overlap (halos): their gradients with respect to ``x`` add up. With no gradient
    needed (evaluation), the bands are only evaluated. Inside
    :func:`~convpress.overfit.parallel.band_shard` only this process's share of the bands counts.
    """

    @staticmethod
    def forward(
        ctx: Any, loss: BandLoss, bands: Sequence[tuple[int, int, Any]], row_cost: float, x: torch.Tensor, *parameters: torch.Tensor
    ) -> torch.Tensor:
        needs_gradient = any(ctx.needs_input_grad[3:])
        bands = my_bands(bands, [(high - low) * row_cost for low, high, _ in bands])
        total = x.new_zeros(())
        if not needs_gradient:
            for low, high, info in bands:
                total += loss(x[:, :, low:high], info, *parameters)
            return total
        x_gradient = torch.zeros_like(x)
        parameter_gradients = [torch.zeros_like(p) for p in parameters]
        for low, high, info in bands:
            with torch.enable_grad():
                band = x[:, :, low:high].detach().requires_grad_()
                leaves = [p.detach().requires_grad_() for p in parameters]
                value = loss(band, info, *leaves)
                gradients = torch.autograd.grad(value, [band, *leaves], allow_unused=True)
            total += value.detach()
            x_gradient[:, :, low:high] += gradients[0]
            for accumulated, gradient in zip(parameter_gradients, gradients[1:]):
                if gradient is not None:
                    accumulated += gradient
        ctx.save_for_backward(x_gradient, *parameter_gradients)
        return total

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x_gradient, *parameter_gradients = ctx.saved_tensors
        return (None, None, None, x_gradient * gradient, *(g * gradient for g in parameter_gradients))


def row_bands(rows: int, band_rows: int, halo: int) -> list[tuple[int, int, int, int]]:
    """(input low, input high, output offset in the input, output rows) of bands of ``band_rows`` rows with ``halo`` rows each side."""
    bands = []
    for top in range(0, rows, band_rows):
        low, high = max(0, top - halo), min(rows, top + band_rows + halo)
        bands.append((low, high, top - low, min(band_rows, rows - top)))
    return bands
