"""The encoder's starting networks (the *prior*): trained once on many images, shipped with the package.

The latents of a fit start at zero whatever the networks, but networks that already turn a latent
stack into an image and already predict latents well let the first iterations move the latents in
useful directions; with the few thousand iterations a CPU affords, where a fit starts matters
(``docs/overfit.md`` has the measurements). The prior is trained by
:mod:`convpress.training.overfit_prior`: one set of networks shared by crops of many images, each
crop with its own latents, under the encoder's own schedule.

Every file still carries its own quantized networks, but as *differences* from the prior's values
at the same step (stream layout 3): a fit moves most parameters only a little from where it
started, and the differences cost about a fifth fewer bits (``docs/overfit.md``). Such a file
names the prior by its hash in the header, and decoding it needs that prior installed; a file
encoded with ``start="random"`` carries its parameters whole and needs none.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save
from torch import nn

from convpress.coding.container import weights_hash
from convpress.errors import ConvpressError
from convpress.models.loading import read_file_metadata
from convpress.overfit.bitstream import Architecture
from convpress.zoo import WEIGHTS_DIR

PRIOR_FORMAT = "convpress-overfit-prior"
PRIOR_PATH = WEIGHTS_DIR / "overfit-prior.safetensors"
"""The prior that encoding starts from."""
EARLIER_PRIORS = (WEIGHTS_DIR / "overfit-prior-layout3.safetensors",)
"""Priors of earlier stream layouts, kept so that the files coded relative to them still decode."""


@dataclasses.dataclass(frozen=True)
class Prior:
    """Float parameters named as ``OverfitModel.networks`` names them, and the architecture they were trained for."""

    architecture: Architecture
    parameters: dict[str, torch.Tensor]
    weights_hash: bytes
    """The file's fingerprint (:func:`convpress.coding.weights_hash`): files coded against this prior store it."""


def prior_bytes(networks: nn.ModuleDict, architecture: Architecture, training: dict) -> bytes:
    """A prior file: ``networks`` (float32) with their architecture and a ``training`` record in the metadata."""
    tensors = {name: parameter.detach().float().contiguous() for name, parameter in networks.named_parameters()}
    metadata = {
        "format": PRIOR_FORMAT,
        "architecture": json.dumps(dataclasses.asdict(architecture)),
        "training": json.dumps(training),
    }
    return save(tensors, metadata=metadata)


def read_prior(path: Path) -> Prior:
    """A prior file; ConvpressError when it is not one."""
    metadata = read_file_metadata(path)
    if metadata.get("format") != PRIOR_FORMAT:
        raise ConvpressError(f"{path} is not an overfit-codec prior (format {metadata.get('format')!r})")
    data = path.read_bytes()
    try:
        parameters = load(data)
        fields = json.loads(metadata["architecture"])
        fields.setdefault("row_passes", False)  # written before stream layout 4
        fields.setdefault("tensor_groups", fields["row_passes"])  # before layout 5; the grouping leaves the networks as they are
        architecture = Architecture(**fields)
    except (SafetensorError, KeyError, TypeError, ValueError) as exc:
        raise ConvpressError(f"{path}: damaged overfit-codec prior ({exc})") from exc
    return Prior(architecture, parameters, weights_hash(data))


@functools.cache
def shipped_prior() -> Prior | None:
    """The packaged prior, or None when the package has none."""
    return read_prior(PRIOR_PATH) if PRIOR_PATH.exists() else None


@functools.cache
def installed_priors() -> dict[bytes, Prior]:
    """Every prior in the package's weights folder by its hash, for decoding: the shipped one, those
    for other network widths (:func:`prior_for`) and :data:`EARLIER_PRIORS`."""
    paths = sorted(set(WEIGHTS_DIR.glob("overfit-prior*.safetensors")) | {path for path in EARLIER_PRIORS if path.exists()})
    return {prior.weights_hash: prior for prior in map(read_prior, paths)}


def prior_for(architecture: Architecture) -> Prior | None:
    """The prior a fit of ``architecture`` starts from: an installed one trained for the same networks
    (the shipped prior first; the image's channel count aside), else the shipped prior, whose
    parameters of the right shape then start the fit and the rest start at random."""
    shipped = shipped_prior()
    others = [prior for prior in installed_priors().values() if shipped is None or prior.weights_hash != shipped.weights_hash]
    candidates = [shipped, *others]
    for prior in candidates:
        if prior is not None and dataclasses.replace(prior.architecture, channels=architecture.channels) == architecture:
            return prior
    return shipped


def start_from_prior(networks: nn.ModuleDict, prior: Prior) -> list[str]:
    """Give ``networks`` the prior's value of every parameter of the same name and shape; returns their names.

    Networks of another architecture take what fits: the ARM and the upsampling do not depend on
    the image's channels, so a gray image's fit starts with the colour prior's ARM.
    """
    taken = []
    with torch.no_grad():
        for name, parameter in networks.named_parameters():
            value = prior.parameters.get(name)
            if value is not None and value.shape == parameter.shape:
                parameter.copy_(value)
                taken.append(name)
    return taken
