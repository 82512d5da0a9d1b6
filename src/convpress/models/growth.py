"""Function-preserving growth: start a wider network, or one for more rates, from smaller weights.

On this project's CPUs a network cannot be retrained from scratch each time its capacity turns out
too small (the shipped codec's curve flattens at high rates because its transforms, not its
quantizer, cap the quality). Widening in the manner of Net2Net (Chen et al., ICLR 2016) keeps
everything learned: every old weight is copied to the same place in the wider tensor, the
connections *from* new channels *into* old ones are zeroed, so the wider network computes
exactly what the narrow one did, and training then brings the new channels in. The new
channels themselves keep their fresh random initialisation, so gradients reach them from the
first step.

A model may also cover rates the old weights were not trained for: its ``retarget_levels`` carries
the per-rate tables to the new rates first (the learned codec's gain vectors, interpolated in
log-lambda, so every old rate is reproduced exactly).

Most channel dimensions grow at the end (a leading slice holds the old channels). Some are
concatenations of blocks, e.g. the hyperprior's ``[means, scales]`` output: the model declares
those with :meth:`LearnedImageModel.channel_blocks` and each block grows at its own end.
"""

from __future__ import annotations

import torch
from torch import nn


def grow_state_dict(model: nn.Module, narrow: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict for ``model`` (wider or equal) that reproduces the network ``narrow`` describes.

    Raises ``ValueError`` when a tensor is missing or shrinks (only widening preserves the function),
    or when the model does not declare its block layout (``channel_blocks``): concatenated channels
    widened as one block would silently compute something else.
    """
    if not hasattr(model, "channel_blocks"):
        raise ValueError(f"{type(model).__name__} does not declare its channel layout (channel_blocks)")
    if hasattr(model, "retarget_levels"):
        narrow = model.retarget_levels(narrow)
    wide = model.state_dict()
    missing = sorted(set(wide) - set(narrow))
    if missing:
        raise ValueError(f"the narrow weights lack {', '.join(missing[:3])}")
    blocks = model.channel_blocks()
    return {name: _widen_tensor(name, target.clone(), narrow[name].to(target.dtype), blocks.get(name, {}))
            for name, target in wide.items()}


def _widen_tensor(name: str, target: torch.Tensor, old: torch.Tensor, blocks: dict[int, int]) -> torch.Tensor:
    """Copy ``old`` into ``target`` (freshly initialised) and cut the new channels off the old ones."""
    if old.dim() != target.dim() or any(o > n for o, n in zip(old.shape, target.shape)):
        raise ValueError(f"{name}: cannot widen {tuple(old.shape)} to {tuple(target.shape)}")
    old_index = [_old_positions(old.shape[d], target.shape[d], blocks.get(d, 1), name) for d in range(old.dim())]
    if old.dim() >= 2 and _is_channel_mixing(name, target):
        # Entries mapping a new input channel (dim 1) onto an old output channel (dim 0) are zeroed.
        new_inputs = torch.ones(target.shape[1], dtype=torch.bool)
        new_inputs[old_index[1]] = False
        target[old_index[0][:, None], new_inputs.nonzero().view(1, -1)] = 0
    target[torch.meshgrid(*old_index, indexing="ij")] = old
    return target


def _is_channel_mixing(name: str, tensor: torch.Tensor) -> bool:
    """Convolution weights ([out, in, kh, kw]) and GDN's gamma ([out, in]) mix input channels."""
    return tensor.dim() == 4 or name.endswith("gamma")


def _old_positions(old_size: int, new_size: int, block_count: int, name: str) -> torch.Tensor:
    """Where each old index lands in the widened dimension (each of ``block_count`` blocks grows at its end)."""
    if old_size % block_count or new_size % block_count:
        raise ValueError(f"{name}: {old_size} -> {new_size} channels do not split into {block_count} blocks")
    old_block, new_block = old_size // block_count, new_size // block_count
    index = torch.arange(old_size)
    return index // old_block * new_block + index % old_block


__all__ = ["grow_state_dict"]
