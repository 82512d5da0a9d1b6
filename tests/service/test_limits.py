"""Limits that keep the service up: upload size, pixel count, worker pool, queue and timeouts."""

from __future__ import annotations

import struct
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from service_helpers import encoded, service_client
from PIL import Image

from convpress.codecs.jpeg import JpegCodec
from convpress.deadline import deadline
from convpress.errors import DeadlineExceededError, InvalidParameterError
from convpress.service import jobs
from convpress.service.limits import ServiceSettings
from imagegen import natural_like

PAGE_SIZE = 4096


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header (with a valid CRC) claims ``width`` x ``height`` pixels."""
    real = encoded(Image.new("RGB", (1, 1)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return real[:8] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + real[33:]


def test_an_upload_over_the_size_limit_is_413():
    with service_client(max_upload_bytes=20_000) as client:
        noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8))
        upload = encoded(noise)
        assert len(upload) > 20_000
        response = client.post("/api/compress", files={"image": ("a.png", upload)}, data={"codec": "jpeg"})
        assert response.status_code == 413
        assert response.json()["detail"].startswith("upload too large: 0.0 MiB exceeds the limit of 0.0 MiB")


def test_a_request_body_over_the_limit_is_refused_before_it_is_read():
    with service_client(max_upload_bytes=1000) as client:
        response = client.post("/api/decode", files={"file": ("a.png", b"\0" * 3 * 1024 * 1024)})
        assert response.status_code == 413
        assert response.json()["detail"].startswith("request body too large: 3.0 MiB exceeds the limit of 1.0 MiB")


def test_a_chunked_body_without_length_is_cut_off_at_the_limit():
    def chunks():
        for _ in range(64):
            yield b"x" * 65536

    with service_client(max_upload_bytes=1000) as client:
        response = client.post(
            "/api/decode", content=chunks(), headers={"content-type": "multipart/form-data; boundary=abc"}
        )
        assert response.status_code == 413
        assert "request body too large" in response.json()["detail"]
        assert client.get("/api/health").status_code == 200


def test_an_image_over_the_pixel_limit_is_413_without_decoding(rgb_image):
    with service_client(max_pixels=5000) as client:
        response = client.post("/api/compress", files={"image": ("a.png", encoded(rgb_image))}, data={"codec": "jpeg"})
        assert response.status_code == 413
        assert response.json()["detail"] == "image too large: 96x64 is 0.0 megapixels, over the limit of 0.0"


@pytest.mark.parametrize(("side", "message"), [(20_000, "20000x20000 is 400.0 megapixels"), (40_000, "image too large")])
def test_a_decompression_bomb_is_refused_from_its_header(client, side, message):
    start = time.perf_counter()
    response = client.post("/api/decode", files={"file": ("bomb.png", png_claiming_size(side, side))})
    assert response.status_code == 413
    assert message in response.json()["detail"]
    assert time.perf_counter() - start < 2.0


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


class PeakRss:
    """Samples the resident set size in a thread and keeps the highest value seen."""

    def __init__(self) -> None:
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


class ConcurrencyProbe:
    """Wraps a function and records how many calls of it ran at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls = 0

    def wrap(self, function):
        def probed(*args, **kwargs):
            with self._lock:
                self.running += 1
                self.calls += 1
                self.most = max(self.most, self.running)
            try:
                return function(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1

        return probed


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc to read memory use")
def test_twenty_concurrent_requests_run_two_at_a_time_in_bounded_memory(monkeypatch):
    image = Image.fromarray(natural_like(176, 176, 3, seed=2), "RGB")  # just large enough for MS-SSIM
    upload = encoded(image)
    probe = ConcurrencyProbe()
    monkeypatch.setattr(jobs, "compress_job", probe.wrap(jobs.compress_job))
    with service_client(workers=2) as client:

        def compress(quality: int):
            return client.post("/api/compress", files={"image": ("a.png", upload)}, data={"codec": "jpeg", "quality": str(quality)})

        assert compress(50).status_code == 200  # warm up: imports, MS-SSIM kernels, allocator arenas
        baseline = rss_bytes()
        with PeakRss() as rss, ThreadPoolExecutor(max_workers=20) as senders:
            responses = list(senders.map(compress, range(30, 50)))
    assert [r.status_code for r in responses] == [200] * 20
    assert sorted(r.json()["quality"] for r in responses) == list(range(30, 50))
    assert probe.calls == 21 and probe.most == 2
    # Measured with this image: about 20 MiB of growth with 2 workers, about 130 MiB when 20
    # workers run the same requests at once (each thread's allocator arena and MS-SSIM buffers).
    growth = rss.peak - baseline
    assert growth < 80 * 1024 * 1024, f"RSS grew by {growth / 2**20:.0f} MiB"


def slow_encode(seconds: float):
    original = JpegCodec.encode

    def encode(codec, image, quality=75.0, **options):
        time.sleep(seconds)
        return original(codec, image, quality, **options)

    return encode


def test_a_job_past_the_timeout_is_504_and_the_server_stays_up(monkeypatch, png_upload):
    monkeypatch.setattr(JpegCodec, "encode", slow_encode(1.0))
    with service_client(timeout_s=0.2) as client:
        response = client.post("/api/compress", files={"image": ("a.png", png_upload)}, data={"codec": "jpeg"})
        assert response.status_code == 504
        assert response.json()["detail"] == "the job did not finish within 0.2 s; try a smaller image or fewer codecs"
        assert client.get("/api/health").json()["status"] == "ok"


def test_a_full_queue_answers_503_instead_of_holding_more_uploads(monkeypatch, png_upload):
    monkeypatch.setattr(JpegCodec, "encode", slow_encode(0.6))
    with service_client(workers=1, max_queue=1) as client:

        def compress(_):
            return client.post("/api/compress", files={"image": ("a.png", png_upload)}, data={"codec": "jpeg"})

        with ThreadPoolExecutor(max_workers=4) as senders:
            statuses = sorted(r.status_code for r in senders.map(compress, range(4)))
        busy = client.post("/api/compress", files={"image": ("a.png", png_upload)}, data={"codec": "jpeg"})
    assert statuses.count(200) >= 2 and statuses.count(503) >= 1 and set(statuses) <= {200, 503}
    assert busy.status_code == 200


def test_a_sweep_stops_at_its_deadline(png_upload):
    with deadline(time.monotonic() - 1), pytest.raises(DeadlineExceededError, match="ran out of time"):
        jobs.sweep_job(png_upload, ["jpeg"], [50.0], max_pixels=10**6)


def test_a_timed_out_overfitted_encode_stops_and_frees_its_worker(png_upload):
    """A running job cannot be killed; it must notice its deadline, or the one worker stays busy for hours."""
    with service_client(timeout_s=1.0, workers=1) as client:
        started = time.monotonic()
        response = client.post("/api/compress", files={"image": ("a.png", png_upload)},
                               data={"codec": "overfit", "options": '{"iterations": 1000000}'})
        assert response.status_code == 504
        # The next job gets the worker at once: the encode stopped at its next iteration.
        after = client.post("/api/compress", files={"image": ("a.png", png_upload)}, data={"codec": "jpeg"})
        assert after.status_code == 200
        assert time.monotonic() - started < 10


def test_requests_leave_no_files_behind(monkeypatch, tmp_path, png_upload):
    """Work happens in memory: nothing appears in the working directory or the temporary directory."""
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    monkeypatch.chdir(tmp_path)
    with service_client() as client:
        files = {"image": ("a.png", png_upload)}
        assert client.post("/api/compress", files=files, data={"codec": "webp"}).status_code == 200
        assert client.post("/api/sweep", files=files, data={"codecs": "jpeg", "qualities": "50"}).status_code == 200
        assert client.post("/api/decode", files={"file": ("a.png", png_upload)}).status_code == 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
    assert list(spool.iterdir()) == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"workers": 0}, "workers must be at least 1"),
        ({"max_upload_bytes": 0}, "max_upload_bytes must be at least 1"),
        ({"timeout_s": 0}, "timeout must be positive"),
    ],
)
def test_settings_are_validated(settings, message):
    with pytest.raises(InvalidParameterError, match=message):
        ServiceSettings(**settings)
