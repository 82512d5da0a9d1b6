"""Helpers of the service tests: uploads made from images, and apps with chosen limits."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from PIL import Image

from convpress.service.app import create_app
from convpress.service.limits import ServiceSettings


def encoded(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


@contextmanager
def service_client(raise_server_exceptions: bool = True, **settings) -> Iterator[TestClient]:
    """A client of a fresh app (own worker pool) with the given :class:`ServiceSettings`."""
    app = create_app(ServiceSettings(**settings))
    with TestClient(app, raise_server_exceptions=raise_server_exceptions) as client:
        yield client
