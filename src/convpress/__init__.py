"""convpress: image compression with convolutional neural networks.

Public API (more is added as the package grows):

- :func:`convpress.compress` / :func:`convpress.decompress`: one-call compression with any codec
  (the learned codec by default), at a quality or to a size, bpp or PSNR target.
- :func:`convpress.open_image`: load any image as L, RGB or RGBA.
- :func:`convpress.codecs.get_codec`: a codec by name, with ``encode``/``decode``.
"""

from convpress.api import compress, decompress
from convpress.imageio import open_image

__version__ = "0.1.0"

__all__ = ["__version__", "compress", "decompress", "open_image"]
