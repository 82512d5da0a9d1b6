"""Shared by rate_proxy.py and transform_ceiling.py: a learned model and the first images of a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from convpress.codecs.learned import load_model
from convpress.models.autoencoders import LearnedImageModel
from convpress.training.data import first_image_tensors

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def model_and_images(description: str, argv: list[str] | None) -> tuple[LearnedImageModel, list[torch.Tensor]]:
    """Parse ``--model``, ``--kodak`` and ``--images``; the model (eval mode) and its test images."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", default="cp-checkerboard", help="shipped model name or .safetensors path")
    parser.add_argument("--kodak", type=Path, default=SHARED / "data" / "kodak")
    parser.add_argument("--images", type=int, default=4, help="how many of the folder's first images")
    args = parser.parse_args(argv)
    return load_model(args.model).model.eval(), first_image_tensors(args.kodak, args.images)
