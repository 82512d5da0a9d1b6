"""The REST endpoints through FastAPI's TestClient: results checked against the codecs called directly."""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pytest
import torch
from PIL import Image
from pytorch_msssim import ms_ssim

import convpress
from convpress.coding.container import FORMAT_VERSION, MAGIC
from convpress.codecs import codec_names, get_codec
from convpress.codecs.registry import codec_class
from convpress.service.app import STATIC_DIR
from imagegen import natural_like
from service_helpers import encoded


def png_image(data: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    assert image.format == "PNG"
    image.load()
    return image


def psnr(a: Image.Image, b: Image.Image) -> float:
    mse = np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2)
    return 10 * math.log10(255**2 / mse)


def test_health_reports_version_and_limits(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["version"] == convpress.__version__
    assert body["pending_jobs"] == 0
    assert body["limits"] == {
        "max_upload_bytes": 32 * 1024 * 1024,
        "max_pixels": 24_000_000,
        "timeout_s": 120.0,
        "workers": 2,
        "max_queue": 32,
    }


def test_codecs_lists_every_registered_codec_with_its_interface(client):
    body = client.get("/api/codecs").json()
    by_name = {codec["name"]: codec for codec in body["codecs"]}
    assert list(by_name) == codec_names(available_only=False)
    jpeg = by_name["jpeg"]
    assert (jpeg["lossy"], jpeg["lossless"], jpeg["available"]) == (True, False, True)
    assert jpeg["extensions"] == [".jpg", ".jpeg", ".jpe"]
    assert jpeg["options"] == [
        {"name": "subsampling", "default": "4:2:0", "help": "chroma subsampling of RGB images",
         "choices": ["4:4:4", "4:2:2", "4:2:0"], "minimum": None, "maximum": None}
    ]
    assert (by_name["png"]["lossy"], by_name["png"]["lossless"]) == (False, True)
    learned = by_name["learned"]
    assert learned["available"] == codec_class("learned").is_available()
    assert (learned["unavailable_reason"] is None) == learned["available"]
    assert body["models"]["restoration"] == {
        "denoise": hasattr(convpress, "denoise"),
        "deblock": hasattr(convpress, "deblock"),
    }


def test_compress_returns_the_codecs_exact_bytes_and_measures_them(client, rgb_image, png_upload):
    response = client.post(
        "/api/compress", files={"image": ("photo.png", png_upload, "image/png")}, data={"codec": "jpeg", "quality": "40"}
    )
    assert response.status_code == 200
    body = response.json()
    jpeg = get_codec("jpeg")
    expected = jpeg.encode(rgb_image, quality=40)
    assert base64.b64decode(body["compressed"]) == expected
    assert (body["codec"], body["extension"], body["quality"], body["lossless"]) == ("jpeg", ".jpg", 40.0, False)
    assert (body["width"], body["height"], body["mode"]) == (96, 64, "RGB")
    assert body["bytes"] == len(expected)
    assert body["bpp"] == pytest.approx(8 * len(expected) / (96 * 64))
    decoded = jpeg.decode(expected)
    assert np.array_equal(np.asarray(png_image(body["decoded_png"])), np.asarray(decoded))
    assert body["psnr"] == pytest.approx(psnr(rgb_image, decoded), abs=1e-9)
    assert body["identical"] is False
    assert body["ms_ssim"] is None  # 64 px is too small for MS-SSIM's five scales
    assert body["encode_ms"] > 0 and body["decode_ms"] > 0
    assert body["target"] is None


def test_compress_ms_ssim_matches_pytorch_msssim_on_a_large_enough_image(client):
    image = Image.fromarray(natural_like(176, 200, 3, seed=5), "RGB")
    body = client.post("/api/compress", files={"image": ("a.png", encoded(image))}, data={"codec": "webp", "quality": "30"}).json()
    decoded = png_image(body["decoded_png"])
    tensors = [torch.from_numpy(np.asarray(i, dtype=np.float32)).permute(2, 0, 1)[None] for i in (image, decoded)]
    assert body["ms_ssim"] == pytest.approx(float(ms_ssim(*tensors, data_range=255)), abs=1e-6)
    assert 0.8 < body["ms_ssim"] < 1.0


def test_lossless_png_is_identical_and_reports_no_psnr(client, png_upload):
    body = client.post("/api/compress", files={"image": ("a.png", png_upload)}, data={"codec": "png"}).json()
    assert (body["identical"], body["psnr"], body["quality"], body["lossless"]) == (True, None, None, True)


def test_webp_lossless_mode_round_trips(client, rgba_image):
    body = client.post(
        "/api/compress", files={"image": ("a.png", encoded(rgba_image))}, data={"codec": "webp", "lossless": "true"}
    ).json()
    assert body["identical"] is True and body["mode"] == "RGBA"
    assert np.array_equal(np.asarray(png_image(body["decoded_png"])), np.asarray(rgba_image))


def test_target_bpp_searches_the_quality(client, png_upload):
    body = client.post("/api/compress", files={"image": ("a.png", png_upload)}, data={"codec": "webp", "target_bpp": "1.5"}).json()
    target = body["target"]
    assert target["kind"] == "bpp" and target["value"] == 1.5
    assert target["achieved"] == pytest.approx(body["bpp"])
    assert target["reached"] == (abs(body["bpp"] - 1.5) <= 0.03 * 1.5)
    assert 1 <= body["quality"] <= 100


def test_target_size_accepts_units(client, png_upload):
    body = client.post("/api/compress", files={"image": ("a.png", png_upload)}, data={"codec": "jpeg", "target_size": "2KB"}).json()
    assert body["target"]["kind"] == "size" and body["target"]["value"] == 2000.0
    assert body["target"]["achieved"] == body["bytes"]


def test_codec_options_reach_the_encoder(client, rgb_image, png_upload):
    body = client.post(
        "/api/compress",
        files={"image": ("a.png", png_upload)},
        data={"codec": "jpeg", "quality": "60", "options": '{"subsampling": "4:4:4"}'},
    ).json()
    assert base64.b64decode(body["compressed"]) == get_codec("jpeg").encode(rgb_image, quality=60, subsampling="4:4:4")


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"codec": "nope"}, 400, "unknown codec 'nope'"),
        ({"codec": "jpeg", "quality": "500"}, 422, "quality must be between 1 and 100, got 500"),
        ({"codec": "jpeg", "quality": "50", "target_bpp": "1"}, 422, "a target chooses the quality"),
        ({"codec": "jpeg", "target_bpp": "1", "target_psnr": "30"}, 422, "at most one of target_bpp"),
        ({"codec": "jpeg", "lossless": "true"}, 422, "jpeg has no lossless mode"),
        ({"codec": "png", "quality": "50"}, 422, "png is lossless only: drop quality"),
        ({"codec": "webp", "lossless": "true", "quality": "50"}, 422, "webp ignores quality in lossless mode"),
        ({"codec": "png", "target_bpp": "1"}, 422, "png is lossless: it has no rate to target"),
        ({"codec": "jpeg", "target_size": "lots"}, 422, "cannot read a size from 'lots'"),
        ({"codec": "jpeg", "options": '{"subsampling": "4:1:1"}'}, 422, "option subsampling must be one of"),
        ({"codec": "jpeg", "options": '{"speed": 3}'}, 422, "jpeg has no option speed"),
        ({"codec": "jpeg", "options": "not json"}, 422, "options must be a JSON object"),
        ({"codec": "jpeg", "options": "[1, 2]"}, 422, "options must be a JSON object"),
    ],
)
def test_bad_parameters_are_client_errors_with_the_librarys_message(client, png_upload, data, status, message):
    response = client.post("/api/compress", files={"image": ("a.png", png_upload)}, data=data)
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_missing_fields_are_validation_errors(client):
    response = client.post("/api/compress", data={"codec": "jpeg"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "image"]


def test_a_mode_the_format_cannot_store_is_422(client, rgba_image):
    response = client.post("/api/compress", files={"image": ("a.png", encoded(rgba_image))}, data={"codec": "jpeg"})
    assert response.status_code == 422
    assert response.json()["detail"] == "jpeg cannot store RGBA images (it accepts L, RGB)"


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"this is a text file, not a picture", 415, "not an image in a supported format"),
        (b"", 415, "the uploaded file is empty"),
        # EPS would make Pillow run Ghostscript: such formats are never even tried.
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", 415, "not an image"),
    ],
)
def test_content_that_is_no_image_is_refused_whatever_its_name(client, content, status, message):
    response = client.post("/api/compress", files={"image": ("holiday.png", content, "image/png")}, data={"codec": "jpeg"})
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_a_truncated_image_is_422_and_the_server_stays_up(client, png_upload):
    response = client.post("/api/compress", files={"image": ("a.png", png_upload[: len(png_upload) // 2])}, data={"codec": "jpeg"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("the PNG file is corrupt or truncated")
    assert client.get("/api/health").json()["status"] == "ok"
    assert client.post("/api/compress", files={"image": ("a.png", png_upload)}, data={"codec": "jpeg"}).status_code == 200


def test_the_format_comes_from_the_content_not_the_name(client, rgb_image):
    jpeg_named_png = encoded(rgb_image, "JPEG", quality=90)
    response = client.post("/api/decode", files={"file": ("picture.png", jpeg_named_png, "image/png")})
    assert response.status_code == 200
    assert response.headers["x-convpress-format"] == "jpeg"


@pytest.mark.parametrize(
    ("codec", "fmt"), [("jpeg", "jpeg"), ("webp", "webp"), ("avif", "avif"), ("jpegxl", "jxl"), ("jpeg2000", "jpeg2000")]
)
def test_decode_turns_a_compressed_file_into_png(client, rgb_image, codec, fmt):
    data = get_codec(codec).encode(rgb_image, quality=50)
    response = client.post("/api/decode", files={"file": ("x.bin", data)})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert (response.headers["x-image-width"], response.headers["x-image-height"]) == ("96", "64")
    assert response.headers["x-convpress-format"] == fmt
    decoded = Image.open(io.BytesIO(response.content))
    assert np.array_equal(np.asarray(decoded), np.asarray(get_codec(codec).decode(data)))


def test_decode_refuses_a_corrupt_cpz_file(client):
    truncated = MAGIC + bytes([FORMAT_VERSION]) + b"\x00" * 7
    response = client.post("/api/decode", files={"file": ("x.cpz", truncated)})
    assert response.status_code == 422
    assert "corrupt" in response.json()["detail"] or "truncated" in response.json()["detail"]


def test_sweep_gives_rd_points_that_match_direct_encodes(client, rgb_image, png_upload):
    response = client.post(
        "/api/sweep", files={"image": ("a.png", png_upload)}, data={"codecs": "jpeg, webp,png,jpeg", "qualities": "60,20"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["qualities"] == [20.0, 60.0]
    assert [series["codec"] for series in body["series"]] == ["jpeg", "webp"]
    assert body["skipped"] == [{"codec": "png", "reason": "lossless only: it has no quality to sweep"}]
    jpeg_points = body["series"][0]["points"]
    expected = get_codec("jpeg").encode(rgb_image, quality=20)
    assert jpeg_points[0]["bytes"] == len(expected)
    assert jpeg_points[0]["psnr"] == pytest.approx(psnr(rgb_image, get_codec("jpeg").decode(expected)), abs=1e-9)
    for series in body["series"]:
        low, high = series["points"]
        assert low["bpp"] < high["bpp"] and low["psnr"] < high["psnr"]


def test_sweep_skips_codecs_that_cannot_store_the_image(client, rgba_image):
    body = client.post(
        "/api/sweep", files={"image": ("a.png", encoded(rgba_image))}, data={"codecs": "jpeg,webp", "qualities": "50"}
    ).json()
    assert [series["codec"] for series in body["series"]] == ["webp"]
    assert body["skipped"] == [{"codec": "jpeg", "reason": "jpeg cannot store RGBA images (it accepts L, RGB)"}]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"codecs": "jpeg,nope"}, 400, "unknown codec 'nope'"),
        ({"codecs": " , "}, 422, "name at least one codec"),
        ({"codecs": "jpeg", "qualities": "10,abc"}, 422, "qualities must be comma-separated numbers"),
        ({"codecs": "jpeg", "qualities": "0,50"}, 422, "quality must be between 1 and 100"),
        ({"codecs": "jpeg", "qualities": ",".join(str(q) for q in range(1, 15))}, 422, "1 to 12 qualities"),
    ],
)
def test_bad_sweep_requests_are_refused_before_any_work(client, png_upload, data, status, message):
    response = client.post("/api/sweep", files={"image": ("a.png", png_upload)}, data=data)
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_openapi_schema_lists_every_endpoint_and_no_cdn_docs_page(client):
    schema = client.get("/api/openapi.json").json()
    assert set(schema["paths"]) == {
        "/api/health", "/api/codecs", "/api/compress", "/api/decode", "/api/sweep", "/api/denoise", "/api/deblock",
    }
    assert "413" in schema["paths"]["/api/compress"]["post"]["responses"]
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN


def test_page_is_served_with_a_policy_that_forbids_other_origins(client):
    response = client.get("/")
    assert response.status_code == 200 and "<title>convpress" in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    for name in ("app.js", "style.css", "favicon.svg"):
        assert client.get(f"/static/{name}").status_code == 200


def test_static_files_reference_no_outside_address():
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path.name


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}
