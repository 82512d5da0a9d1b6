"""Overfitting the latents and networks to one image (the encoder), then quantizing the networks.

Adam optimizes ``MSE + lambda * bpp`` (the latents' rate under the ARM), the latents with
:data:`LATENT_RATE_FACTOR` times the networks' learning rate, with C3's proxy for rounding (Kim
et al. 2024): soft rounding around Kumaraswamy noise, temperature annealed 0.3 -> 0.1 and noise
parameter 1 -> 2 (from uniform towards peaked), learning rate in a cosine decay.

Two stages of C3 and Cool-chic 3 are gone, each because the file came out better without it
(``docs/overfit.md``): a first one with additive uniform noise (10 % of the iterations; without
it the loss after 500 iterations was lower on four of six Kodak crop settings), and a last one
with true rounding at a low learning rate (at 4 000 iterations on kodim23, 10 % of it -> 5 % ->
none gave 0.1998 -> 0.1823 -> 0.1759 bpp at 33.0 dB).

The latents start at zero and the networks at the shipped prior (:mod:`convpress.overfit.prior`),
networks already trained on many images, unless ``start="random"``.

Then each parameter group is quantized with the step ``2**-k`` that minimizes the loss including
the parameters' own code length (they are coded as differences from the prior's values), group
after group (:func:`quantize_networks`), the rounding of the latents is optionally revised for
rate and distortion with those networks (:mod:`convpress.overfit.rdoq`), and the encoder
computes, with the decoder's integer arithmetic, the reconstruction a decoder will produce.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from convpress.deadline import check_deadline
from convpress.overfit.bitstream import (
    Architecture,
    ExactNetworks,
    QuantizedNetworks,
    Reference,
    exact_networks,
    float_networks,
    reference_integers,
    to_integers,
)
from convpress.overfit.decoder import reconstruct
from convpress.overfit.laplace import zero_mean_bits
from convpress.overfit.latents import level_shapes, soft_round_with_noise
from convpress.overfit.parallel import Exchange, band_shard, workers
from convpress.overfit.prior import Prior, prior_for, start_from_prior
from convpress.overfit.rdoq import refine_latents
from convpress.overfit.synthesis import BAND_PIXELS

LEARNING_RATE = 1e-2
LATENT_RATE_FACTOR = 5.0
"""The latents' learning rate relative to the networks': they start at zero and must travel
several units in a few hundred steps (5x: +4 dB at 250 iterations on a Kodak crop).
"""
TEMPERATURES = (0.3, 0.1)
KUMARASWAMY = (1.0, 2.0)
PARAMETER_BITS = tuple(range(2, 13))
"""Candidate quantization exponents k (steps 2^-2 .. 2^-12) of every parameter group."""
PROGRESS_EVERY = 10
STATISTICS = ("mse", "bpp")
"""The numbers of a step that the progress bar shows, summed over processes with the gradients."""
STARTS = ("prior", "random")
"""Where the networks start: the shipped prior's values, or PyTorch's initialization."""


class OverfitModel(nn.Module):
    """Latent grids plus the three networks, as trained in float."""

    def __init__(self, architecture: Architecture, height: int, width: int) -> None:
        super().__init__()
        self.architecture = architecture
        shapes = level_shapes(height, width, architecture.levels)
        self.latents = nn.ParameterList(nn.Parameter(torch.zeros(shape)) for shape in shapes)
        self.networks = nn.ModuleDict(float_networks(architecture))

    def forward(self, latents: list[torch.Tensor], target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The MSE of the image against ``target`` [1, C, H, W] and the latents' total code length in bits."""
        bits = self.networks["arm"].bits(latents)
        squared_error = self.networks["synthesis"].squared_error(self.networks["upsampling"](latents), target)
        return squared_error / target.numel(), bits

    def named_network_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """Parameters named ``<network>.<path>`` as in :func:`convpress.overfit.bitstream.parameter_shapes`."""
        return self.networks.named_parameters()


@dataclass(frozen=True)
class Stage:
    """What one iteration does: the rounding proxy's settings and the learning rate."""

    learning_rate: float
    temperature: float
    noise: float


def stage_at(iteration: int, iterations: int) -> Stage:
    """The schedule of the module docstring, at ``iteration`` of ``iterations``."""
    progress = iteration / max(iterations, 1)
    learning_rate = LEARNING_RATE * 0.5 * (1 + math.cos(math.pi * progress))
    temperature = TEMPERATURES[0] + progress * (TEMPERATURES[1] - TEMPERATURES[0])
    noise = KUMARASWAMY[0] + progress * (KUMARASWAMY[1] - KUMARASWAMY[0])
    return Stage(learning_rate, temperature, noise)


@dataclass
class FitResult:
    """An image coded by :func:`fit`: what the file stores and what the decoder will show."""

    networks: QuantizedNetworks
    exact: ExactNetworks
    latents: list[np.ndarray]
    reconstruction: np.ndarray
    """uint8 [H, W, C]: exactly what decoding the file gives."""
    estimated_bits: float
    """Latents' and parameters' code length, as the quantization search estimated it."""
    prior: Prior | None
    """The prior the networks started from and are coded relative to (None: from scratch, coded whole)."""

    def mse(self, image: np.ndarray) -> float:
        """Mean squared error on the 0-1 scale, against the original uint8 [H, W, C] image."""
        difference = (self.reconstruction.astype(np.float64) - image.astype(np.float64)) / 255.0
        return float(np.mean(difference**2))


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def fit(
    image: np.ndarray,
    lmbda: float,
    iterations: int,
    architecture: Architecture | None = None,
    *,
    threads: int = 2,
    seed: int = 0,
    progress: bool | None = None,
    start: str = "prior",
    rdoq_sweeps: int = 0,
) -> FitResult:
    """Overfit a model to ``image`` (uint8 [H, W, C], C = 1 or 3) for rate-distortion ``lmbda``.

    ``threads``: processes that share the training, one core each (:mod:`~convpress.overfit.parallel`),
    at most one per band of :data:`~convpress.overfit.synthesis.BAND_PIXELS` pixels: a small image
    would give the others nothing to do, and starting them costs seconds.
    ``progress``: show a tqdm bar with the current rate and PSNR (None: only on a terminal).
    ``start``: the networks' starting point, ``"prior"`` (the shipped :mod:`~convpress.overfit.prior`,
    where one is installed, which the quantized networks are then coded relative to) or ``"random"``.
    ``rdoq_sweeps``: sweeps of rate-distortion optimized rounding over the latent levels after
    training (:mod:`~convpress.overfit.rdoq`; 0: plain rounding).
    """
    if start not in STARTS:
        raise ValueError(f"unknown start {start!r}; choose from {', '.join(STARTS)}")
    height, width, channels = image.shape
    architecture = architecture or Architecture(channels=channels)
    target = torch.tensor(image).permute(2, 0, 1)[None].float() / 255.0
    setup = (architecture, target, seed, start)
    prior = _prior_of(start, architecture)
    with torch_threads(1):
        model = starting_model(*setup)
        size = sum(p.numel() for p in model.parameters()) + len(STATISTICS)
        processes = min(threads, -(-height * width // BAND_PIXELS))
        with workers(processes, size, _train_worker, (*setup, lmbda, iterations)) as exchange:
            with band_shard(0, processes) if exchange else contextlib.nullcontext():
                train(model, target, lmbda, iterations, progress, exchange)
        with torch.no_grad():
            latents = [torch.round(grid.detach()) for grid in model.latents]
            networks, bits = quantize_networks(model, latents, target, lmbda, None if prior is None else prior.parameters)
            if rdoq_sweeps:
                with torch_threads(processes):  # whole-image evaluations: two threads are 1.45x one
                    refined = refine_latents(model.networks, latents, target, lmbda, rdoq_sweeps, progress)
                arm = model.networks["arm"]
                bits += float(arm.bits(refined) - arm.bits(latents))
                latents = refined
            exact = exact_networks(networks)
            integer_latents = [grid.numpy().astype(np.int64) for grid in latents]
            reconstruction = reconstruct(exact, integer_latents)
    return FitResult(networks, exact, integer_latents, reconstruction, bits, prior)


def starting_model(architecture: Architecture, target: torch.Tensor, seed: int, start: str) -> OverfitModel:
    """The model before training: latents at zero, networks from ``start``; the same in every process."""
    torch.manual_seed(seed)
    model = OverfitModel(architecture, target.shape[2], target.shape[3])
    prior = _prior_of(start, architecture)
    if prior is not None:
        start_from_prior(model.networks, prior)
    return model


def _prior_of(start: str, architecture: Architecture) -> Prior | None:
    """The networks' starting values and coding reference for ``start`` (None: random, coded whole)."""
    return prior_for(architecture) if start == "prior" else None


def _train_worker(
    exchange: Exchange, architecture: Architecture, target: torch.Tensor, seed: int, start: str, lmbda: float, iterations: int
) -> None:
    """A helper process of :func:`fit`: the same model and training, on its share of the bands."""
    train(starting_model(architecture, target, seed, start), target, lmbda, iterations, False, exchange)


class Adam:
    """Adam (Kingma & Ba) with a learning rate set per step.

    ``torch.optim.Adam`` would do, but building any torch optimizer imports ``torch._dynamo``,
    which costs several seconds per process: more than a small image's whole encode.
    """

    def __init__(
        self, parameters: list[nn.Parameter], rate_factors: list[float], betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        self.parameters = parameters
        self.rate_factors = rate_factors
        """Each parameter's learning rate is the step's times its factor."""
        self.betas = betas
        self.eps = eps
        self.steps = 0
        self.first = [torch.zeros_like(p) for p in parameters]
        self.second = [torch.zeros_like(p) for p in parameters]

    def step(self, learning_rate: float) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        step_size = learning_rate / (1 - beta1**self.steps)
        second_correction = math.sqrt(1 - beta2**self.steps)
        with torch.no_grad():
            for parameter, factor, first, second in zip(self.parameters, self.rate_factors, self.first, self.second):
                if parameter.grad is None:
                    continue
                first.mul_(beta1).add_(parameter.grad, alpha=1 - beta1)
                second.mul_(beta2).addcmul_(parameter.grad, parameter.grad, value=1 - beta2)
                denominator = (second.sqrt() / second_correction).add_(self.eps)
                parameter.addcdiv_(first, denominator, value=-step_size * factor)
                parameter.grad = None


def train(
    model: OverfitModel, target: torch.Tensor, lmbda: float, iterations: int, progress: bool | None, exchange: Exchange | None = None
) -> None:
    """Optimize ``model`` for the image ``target`` [1, C, H, W] in 0-1 with the schedule of :func:`stage_at`."""
    train_jointly([model], [target], [lmbda], iterations, progress, exchange)


def train_jointly(
    models: list[OverfitModel],
    targets: list[torch.Tensor],
    lambdas: list[float],
    iterations: int,
    progress: bool | None,
    exchange: Exchange | None = None,
) -> None:
    """Optimize the latents of each model for its target, and their networks for all of them.

    The models share one set of networks (``models[i].networks`` is the same module) when this
    trains the encoder's starting networks (:mod:`convpress.overfit.prior`); the loss is the mean
    over the images of ``MSE + lambda * bpp``. With an ``exchange``, this process computes its share
    of the loss and the gradients are summed with the other processes' before each update.
    """
    networks = models[0].networks
    if any(model.networks is not networks for model in models):
        raise ValueError("jointly trained models must share their networks")
    grids = [grid for model in models for grid in model.latents]
    weights = list(networks.parameters())
    optimizer = Adam(grids + weights, [LATENT_RATE_FACTOR] * len(grids) + [1.0] * len(weights))
    with tqdm(total=iterations, desc="overfit", unit="it", disable=None if progress is None else not progress, leave=False) as bar:
        for iteration in range(iterations):
            check_deadline()
            stage = stage_at(iteration, iterations)
            mean_squared_error, rate = 0.0, 0.0
            for model, target, lmbda in zip(models, targets, lambdas):
                latents = [soft_round_with_noise(grid, stage.temperature, stage.noise) for grid in model.latents]
                mse, bits = model(latents, target)
                bpp = bits / (target.shape[2] * target.shape[3])
                ((mse + lmbda * bpp) / len(models)).backward()
                mean_squared_error += mse.item() / len(models)
                rate += bpp.item() / len(models)
            if exchange is not None:
                mean_squared_error, rate = _sum_over_processes(exchange, grids + weights, (mean_squared_error, rate))
            optimizer.step(stage.learning_rate)
            if iteration % PROGRESS_EVERY == 0 or iteration == iterations - 1:
                psnr = -10 * math.log10(max(mean_squared_error, 1e-10))
                bar.set_postfix(bpp=f"{rate:.3f}", psnr=f"{psnr:.2f}")
            bar.update()


def _sum_over_processes(exchange: Exchange, parameters: list[nn.Parameter], statistics: tuple[float, ...]) -> tuple[float, ...]:
    """Sum the gradients of ``parameters`` and the :data:`STATISTICS` over the processes of ``exchange``."""
    for parameter in parameters:
        if parameter.grad is None:
            parameter.grad = torch.zeros_like(parameter)
    totals = torch.tensor(statistics)
    exchange.all_reduce([p.grad for p in parameters] + [totals])
    return tuple(totals.tolist())


def quantize_networks(
    model: OverfitModel, latents: list[torch.Tensor], target: torch.Tensor, lmbda: float, reference: Reference | None = None
) -> tuple[QuantizedNetworks, float]:
    """Choose each group's exponent for the least ``MSE + lambda * bpp`` (parameters' bits included).

    The groups are the architecture's (:meth:`~convpress.overfit.bitstream.Architecture.groups`): every
    tensor since stream layout 5, the layers of a network differing by up to 5 in their best exponent.

    The parameters are coded as differences from ``reference`` (see :mod:`~convpress.overfit.bitstream`),
    so their bits are those of the differences.

    Groups are settled one after the other, those not yet settled staying in float. An ARM group
    changes only the latents' rate and the others only the distortion, so each candidate
    re-evaluates just that term. Returns the quantized networks and the estimated code length in
    bits of the latents and parameters.
    """
    pixels = target.shape[2] * target.shape[3]
    networks = model.networks
    originals = {name: parameter.detach().clone() for name, parameter in model.named_network_parameters()}
    parameters = dict(model.named_network_parameters())

    def distortion() -> float:
        return float(networks["synthesis"].squared_error(networks["upsampling"](latents), target)) / target.numel()

    def latent_bits() -> float:
        return float(networks["arm"].bits(latents))

    terms = {"distortion": distortion(), "latent_bits": latent_bits()}
    bits: dict[str, int] = {}
    tables: dict[str, int] = {}
    parameter_bits: dict[str, float] = {}
    architecture = model.architecture
    for group in architecture.groups():
        names = [name for name in originals if architecture.group_of(name) == group]
        term, evaluate = ("latent_bits", latent_bits) if group.startswith("arm") else ("distortion", distortion)
        best = (math.inf, 0, 0, 0.0, 0.0)
        for exponent in PARAMETER_BITS:
            _set_quantized(parameters, originals, names, exponent)
            coded = [
                to_integers(originals[name], exponent) - reference_integers(reference, name, originals[name].shape, exponent)
                for name in names
            ]
            candidate_bits = zero_mean_bits(np.concatenate([values.reshape(-1) for values in coded]))
            trial = {**terms, term: evaluate()}
            rate = trial["latent_bits"] + float(candidate_bits.min()) + sum(parameter_bits.values())
            loss = trial["distortion"] + lmbda * rate / pixels
            if loss < best[0]:
                best = (loss, exponent, int(np.argmin(candidate_bits)), float(candidate_bits.min()), trial[term])
        _, bits[group], tables[group], parameter_bits[group], terms[term] = best
        _set_quantized(parameters, originals, names, bits[group])
    values = {name: to_integers(originals[name], bits[architecture.group_of(name)]) for name in originals}
    networks = QuantizedNetworks(model.architecture, bits, values, tables, reference)
    return networks, terms["latent_bits"] + sum(parameter_bits.values())


def _set_quantized(parameters: dict, originals: dict, names: list[str], exponent: int) -> None:
    """Give the float parameters ``names`` their values quantized with step 2^-exponent."""
    for name in names:
        parameters[name].copy_(torch.round(originals[name] * 2**exponent) * 2.0**-exponent)

