"""Analysis and synthesis transforms (image <-> latents) and the hyper transforms.

Channel widths shrink towards full resolution (64 at 1/2, 128 at 1/4 and 1/8): the full-resolution
layers dominate the cost on CPU, and narrowing them is what keeps encode and decode of a
768x512 image within a fraction of a second on two cores.
"""

from __future__ import annotations

from torch import nn

from convpress.models.layers import SimplifiedGDN, SubpixelUp, conv


def analysis(image_channels: int, widths: tuple[int, int, int], latent: int) -> nn.Sequential:
    """g_a: image -> latents at 1/16 resolution (four stride-2 5x5 convolutions with GDN)."""
    w1, w2, w3 = widths
    return nn.Sequential(
        conv(image_channels, w1), SimplifiedGDN(w1),
        conv(w1, w2), SimplifiedGDN(w2),
        conv(w2, w3), SimplifiedGDN(w3),
        conv(w3, latent),
    )


def synthesis(image_channels: int, widths: tuple[int, int, int], latent: int) -> nn.Sequential:
    """g_s: latents -> image (four sub-pixel up-samplings with inverse GDN)."""
    w1, w2, w3 = widths
    return nn.Sequential(
        SubpixelUp(latent, w3), SimplifiedGDN(w3, inverse=True),
        SubpixelUp(w3, w2), SimplifiedGDN(w2, inverse=True),
        SubpixelUp(w2, w1), SimplifiedGDN(w1, inverse=True),
        SubpixelUp(w1, image_channels),
    )


def hyper_analysis(latent: int, hyper: int) -> nn.Sequential:
    """h_a: latents -> hyper-latents at 1/64 resolution."""
    return nn.Sequential(
        conv(latent, hyper, 3, 1), nn.ReLU(),
        conv(hyper, hyper), nn.ReLU(),
        conv(hyper, hyper),
    )


def hyper_synthesis(latent: int, hyper: int) -> nn.Sequential:
    """h_s: hyper-latents -> 2*latent features (means and scales) at 1/16 resolution.

    Stride-1 convolutions, pixel shuffles and ReLUs only, so that :mod:`convpress.models.exact`
    can evaluate it in fixed point.
    """
    return nn.Sequential(
        SubpixelUp(hyper, hyper), nn.ReLU(),
        SubpixelUp(hyper, hyper), nn.ReLU(),
        nn.Conv2d(hyper, 2 * latent, 1),
    )
