"""Exceptions that carry a message meant for the user.

Everything convpress raises on purpose derives from :class:`ConvpressError`, so the CLI and the
REST service can turn it into a clear message and a non-zero exit (or a 4xx) instead of a traceback.
"""


class ConvpressError(Exception):
    """Base class for errors whose message is shown to the user as it is."""


class UnsupportedImageError(ConvpressError):
    """The image (mode, size, bit depth) cannot be handled by the chosen codec or model."""


class CorruptDataError(ConvpressError):
    """Encoded data is truncated, corrupt, of the wrong format or of an unknown version."""


class InvalidParameterError(ConvpressError, ValueError):
    """A quality, codec option or other setting is unknown or out of range.

    Also a :class:`ValueError`, so callers that validated arguments with ``except ValueError`` keep
    working.
    """


class CodecUnavailableError(ConvpressError):
    """A codec or model was asked for by a name that is not registered or not installed."""


class OutputExistsError(ConvpressError):
    """An output file exists and the user did not allow overwriting it."""


class DeadlineExceededError(ConvpressError):
    """Work was stopped because it ran past the deadline its caller set (:mod:`convpress.deadline`)."""
