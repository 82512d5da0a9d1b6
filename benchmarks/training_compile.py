"""Does ``torch.compile`` speed up a codec training step on this CPU? Eager against compiled.

One optimizer step of the default model (batch 8 of 128x128 random-content crops, bf16
transforms, float32 entropy model and loss, channels-last), timed over ``--steps`` steps after
``--warmup`` steps (compilation happens in the compiled run's warm-up and is reported apart).

    python benchmarks/training_compile.py [--threads 1] [--steps 20] [--warmup 3] [--mode default]
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from convpress.training.codec import codec_step
from convpress.zoo import DEFAULT_MODEL, create_model


def seconds_per_step(model: torch.nn.Module, forward: torch.nn.Module, steps: int, warmup: int) -> tuple[float, float]:
    """(warm-up seconds, mean seconds per step after it) of Adam steps on fixed random crops."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    batch = torch.rand(8, 3, 128, 128, generator=generator)
    step = codec_step("mse")

    def one_step() -> None:
        loss = step(forward, batch, generator)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    started = time.perf_counter()
    for _ in range(warmup):
        one_step()
    warm = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        one_step()
    return warm, (time.perf_counter() - started) / steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--mode", default="default", help="torch.compile mode")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        model = create_model(DEFAULT_MODEL)
        model.transform_autocast = True
        model.train().to(memory_format=torch.channels_last)
        forward = torch.compile(model, mode=args.mode) if compiled else model
        results[compiled] = seconds_per_step(model, forward, args.steps, args.warmup)
        label = f"compiled ({args.mode})" if compiled else "eager"
        print(f"{label:>20}: warm-up {results[compiled][0]:.1f} s, {results[compiled][1] * 1000:.0f} ms per step "
              f"({8 * 128 * 128 / results[compiled][1] / 1000:.0f} kpx/s)", flush=True)
    print(f"speed-up of torch.compile: {results[False][1] / results[True][1]:.2f}x ({args.threads} thread(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
