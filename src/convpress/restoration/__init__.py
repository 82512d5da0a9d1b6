"""CNN image restoration: Gaussian denoising and JPEG artifact removal (see :mod:`.api`)."""

from convpress.restoration.api import deblock, denoise

__all__ = ["deblock", "denoise"]
