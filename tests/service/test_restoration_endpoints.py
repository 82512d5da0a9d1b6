"""/api/denoise and /api/deblock: 501 while convpress.denoise/deblock are missing, and the calls once they exist."""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pytest
from service_helpers import encoded, service_client
from PIL import Image, ImageFilter

import convpress
from convpress.errors import CodecUnavailableError

PARAMETER = {"denoise": "sigma", "deblock": "quality"}


def psnr(a: Image.Image, b: Image.Image) -> float:
    mse = np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2)
    return 10 * math.log10(255**2 / mse)


def smoothing_restorer(calls: list, keyword: str):
    """A stand-in for a restoration model: a 3x3 median filter that records its arguments."""

    def restore(image: Image.Image, **kwargs) -> Image.Image:
        assert set(kwargs) == {keyword}
        calls.append((image.size, image.mode, kwargs[keyword]))
        return image.filter(ImageFilter.MedianFilter(3))

    return restore


@pytest.mark.parametrize("kind", ["denoise", "deblock"])
def test_missing_restoration_model_is_501_with_a_clear_message(client, monkeypatch, png_upload, kind):
    monkeypatch.delattr(convpress, kind, raising=False)
    response = client.post(f"/api/{kind}", files={"image": ("a.png", png_upload)})
    assert response.status_code == 501
    assert response.json()["detail"] == (
        f"{kind} is not available: this installation of convpress has no convpress.{kind} "
        "(the restoration models are not installed)"
    )
    assert client.get("/api/codecs").json()["models"]["restoration"][kind] is False


@pytest.mark.parametrize("kind", ["denoise", "deblock"])
def test_restoration_calls_the_package_function_and_measures_against_the_reference(
    client, monkeypatch, rgb_image, kind
):
    calls: list = []
    monkeypatch.setattr(convpress, kind, smoothing_restorer(calls, PARAMETER[kind]), raising=False)
    noisy_array = np.asarray(rgb_image).astype(np.int16) + np.random.default_rng(4).normal(0, 12, (64, 96, 3)).astype(np.int16)
    noisy = Image.fromarray(np.clip(noisy_array, 0, 255).astype(np.uint8), "RGB")
    response = client.post(
        f"/api/{kind}",
        files={"image": ("noisy.png", encoded(noisy)), "reference": ("clean.png", encoded(rgb_image))},
        data={PARAMETER[kind]: "15"},
    )
    assert response.status_code == 200
    body = response.json()
    assert calls == [((96, 64), "RGB", 15.0)]
    expected = noisy.filter(ImageFilter.MedianFilter(3))
    restored = Image.open(io.BytesIO(base64.b64decode(body["image_png"])))
    assert np.array_equal(np.asarray(restored), np.asarray(expected))
    assert (body["kind"], body["width"], body["height"]) == (kind, 96, 64)
    assert body["psnr"] == pytest.approx(psnr(rgb_image, expected), abs=1e-9)
    assert body["input_psnr"] == pytest.approx(psnr(rgb_image, noisy), abs=1e-9)
    assert body["psnr"] > body["input_psnr"]  # the median filter removes some of the noise
    assert body["ms_ssim"] is None  # 64 px: too small for MS-SSIM
    assert client.get("/api/codecs").json()["models"]["restoration"][kind] is True


def test_restoration_without_reference_or_parameter(client, monkeypatch, png_upload):
    calls: list = []
    monkeypatch.setattr(convpress, "deblock", smoothing_restorer(calls, "quality"), raising=False)
    body = client.post("/api/deblock", files={"image": ("a.png", png_upload)}).json()
    assert calls == [((96, 64), "RGB", None)]
    assert (body["psnr"], body["input_psnr"], body["identical"]) == (None, None, False)


def test_reference_of_another_size_is_422(client, monkeypatch, png_upload):
    monkeypatch.setattr(convpress, "denoise", smoothing_restorer([], "sigma"), raising=False)
    other = encoded(Image.new("RGB", (10, 10)))
    response = client.post("/api/denoise", files={"image": ("a.png", png_upload), "reference": ("b.png", other)})
    assert response.status_code == 422
    assert response.json()["detail"] == "cannot compare images of different sizes: 10x10 and 96x64"


def test_a_model_without_weights_is_501(client, monkeypatch, png_upload):
    def denoise(image, sigma=None):
        raise CodecUnavailableError("no weights for model 'cp-denoise'")

    monkeypatch.setattr(convpress, "denoise", denoise, raising=False)
    response = client.post("/api/denoise", files={"image": ("a.png", png_upload)})
    assert response.status_code == 501
    assert response.json()["detail"] == "denoise is not available: no weights for model 'cp-denoise'"


def test_a_model_returning_no_image_is_a_500_json_error_not_a_traceback(monkeypatch, png_upload):
    monkeypatch.setattr(convpress, "deblock", lambda image, quality=None: "oops", raising=False)
    with service_client(raise_server_exceptions=False) as client:
        response = client.post("/api/deblock", files={"image": ("a.png", png_upload)})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error (RuntimeError); see the server log"}
