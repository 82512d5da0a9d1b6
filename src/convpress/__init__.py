"""convpress: image compression with convolutional neural networks.

Public API (more is added as the package grows):

- :func:`convpress.open_image`: load any image as L, RGB or RGBA.
- :func:`convpress.codecs.get_codec`: a codec by name, with ``encode``/``decode``.
"""

from convpress.imageio import open_image

__version__ = "0.1.0"

__all__ = ["__version__", "open_image"]
