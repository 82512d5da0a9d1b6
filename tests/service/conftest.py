"""Fixtures of the service tests: a shared app with the default limits, and a PNG upload."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from service_helpers import encoded, service_client


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """A client of an app with the default settings, shared by a module's tests (it keeps no state)."""
    with service_client() as test_client:
        yield test_client


@pytest.fixture
def png_upload(rgb_image: Image.Image) -> bytes:
    return encoded(rgb_image)
