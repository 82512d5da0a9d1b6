"""Variable rate from one network: per-channel gain vectors (Cui et al., CVPR 2021).

The latents are multiplied by a gain vector before quantization and by an inverse gain after it;
a larger gain means a finer effective quantization step and a higher rate. The network learns one
pair of vectors per training rate (lambda); in between, gains are interpolated geometrically, which
gives a continuous quality knob. Training samples a continuous level per image so the
interpolated rates are trained too, not only the anchor levels.
"""

from __future__ import annotations


import torch
from torch import nn

# Lagrange multipliers of CompressAI's eight MSE models (bpp from ~0.1 to ~1.9 on Kodak).
DEFAULT_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)


class GainUnits(nn.Module):
    """Encoder and decoder gain vectors for ``len(lambdas)`` rate levels."""

    def __init__(self, channels: int, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS) -> None:
        super().__init__()
        self.register_buffer("lambdas", torch.tensor(lambdas, dtype=torch.float32))
        # Start from the high-rate theory: step size ~ lambda^-1/2, centred on the middle level.
        log_lambdas = torch.log(self.lambdas)
        start = 0.5 * (log_lambdas - log_lambdas.mean())
        self.log_encoder_gain = nn.Parameter(start.view(-1, 1).repeat(1, channels))
        self.log_decoder_gain = nn.Parameter(-start.view(-1, 1).repeat(1, channels))

    @property
    def levels(self) -> int:
        return self.lambdas.numel()

    def _interpolate(self, table: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """Linear interpolation along the level axis of ``table`` at continuous ``level`` [B]."""
        level = level.clamp(0, self.levels - 1)
        low = level.floor().long().clamp(max=self.levels - 2)
        frac = (level - low.to(level.dtype)).view(-1, *([1] * (table.dim() - 1)))
        return table[low] * (1 - frac) + table[low + 1] * frac

    def gains(self, level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder and decoder gains [B, C, 1, 1] for continuous levels [B] in [0, levels-1]."""
        encoder = torch.exp(self._interpolate(self.log_encoder_gain, level))
        decoder = torch.exp(self._interpolate(self.log_decoder_gain, level))
        return encoder[:, :, None, None], decoder[:, :, None, None]

    def level_of(self, lmbda: float) -> float:
        """The continuous level whose interpolated lambda is ``lmbda`` (clamped to the trained range)."""
        log_lambdas = torch.log(self.lambdas.detach().double().cpu())  # a few scalars: the CPU whatever the device
        target = min(max(torch.log(torch.tensor(lmbda, dtype=torch.float64)), log_lambdas[0]), log_lambdas[-1])
        upper = int(torch.searchsorted(log_lambdas, target).clamp(1, self.levels - 1))
        fraction = (target - log_lambdas[upper - 1]) / (log_lambdas[upper] - log_lambdas[upper - 1])
        return float(upper - 1 + fraction)

    def lmbda(self, level: torch.Tensor) -> torch.Tensor:
        """The rate-distortion trade-off of each continuous level (geometric interpolation)."""
        return torch.exp(self._interpolate(torch.log(self.lambdas).view(-1, 1), level)).view(-1)


def retarget_log_gains(old_lambdas: torch.Tensor, table: torch.Tensor, new_lambdas: torch.Tensor) -> torch.Tensor:
    """A log-gain table [levels, C] trained at ``old_lambdas``, carried to ``new_lambdas``.

    Linear in log-lambda: between trained levels it is the interpolation the codec already uses for
    continuous levels, so the old rates are kept exactly; beyond them it extends the two outermost
    levels' line (high-rate theory has log-gain ~ 0.5 log lambda), the start for training new rates.
    """
    x_old, x_new = torch.log(old_lambdas.double()), torch.log(new_lambdas.double())
    if not bool((x_old[1:] > x_old[:-1]).all()):
        raise ValueError("the trained lambdas must increase")
    right = torch.searchsorted(x_old, x_new).clamp(1, len(x_old) - 1)
    weight = ((x_new - x_old[right - 1]) / (x_old[right] - x_old[right - 1])).view(-1, 1)
    low, high = table[right - 1].double(), table[right].double()
    return (low + weight * (high - low)).to(table.dtype)


def quality_to_level(quality: float, levels: int) -> float:
    """Map the common quality scale 1..100 linearly onto the continuous level 0..levels-1."""
    return (min(max(quality, 1.0), 100.0) - 1.0) / 99.0 * (levels - 1)


__all__ = ["DEFAULT_LAMBDAS", "GainUnits", "quality_to_level", "retarget_log_gains"]
