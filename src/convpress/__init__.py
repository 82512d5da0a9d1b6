"""convpress: image compression with convolutional neural networks.

Public API (more is added as the package grows):

- :func:`convpress.compress` / :func:`convpress.decompress`: one-call compression with any codec
  (the learned codec by default), at a quality or to a size, bpp or PSNR target.
- :func:`convpress.denoise` / :func:`convpress.deblock`: CNN removal of Gaussian noise (blind or
  at a given sigma) and of JPEG artifacts (quality read from the file), for gray and colour images.
- :func:`convpress.open_image`: load any image as L, RGB or RGBA.
- :func:`convpress.codecs.get_codec`: a codec by name, with ``encode``/``decode``.
"""

from convpress.api import compress, decompress
from convpress.imageio import open_image
from convpress.restoration import deblock, denoise

__version__ = "0.1.0"

__all__ = ["__version__", "compress", "deblock", "decompress", "denoise", "open_image"]
