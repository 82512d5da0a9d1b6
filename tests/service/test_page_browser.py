"""The web page driven in a real headless Chromium against a live server on a free localhost port.

Needs Debian's ``chromium`` at /usr/bin/chromium and the ``playwright`` package (scripts/setup.sh
installs both); it is skipped with the reason otherwise. Playwright's own browser download is never
used. A screenshot of the page is saved to ``artifacts/service.png`` (git-ignored); with
``CONVPRESS_DOCS_SCREENSHOT=1`` the run uses a Kodak image when the shared data is present and also
refreshes ``docs/images/service.png`` for the README.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

import convpress
from convpress.codecs import get_codec
from convpress.imageio import open_image
from convpress.service.app import create_app
from imagegen import natural_like

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "artifacts" / "service.png"
DOCS_SCREENSHOT = REPO / "docs" / "images" / "service.png"
KODAK_SAMPLE = REPO.parent / "shared" / "data" / "kodak" / "kodim23.png"
TIMEOUT_MS = 30_000

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
)
expect = sync_api.expect
expect.set_options(timeout=TIMEOUT_MS)  # the server may be slow on a loaded machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


@pytest.fixture
def page_errors(page) -> list[str]:
    """Uncaught JavaScript errors of the page, collected as they happen."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def docs_mode() -> bool:
    return os.environ.get("CONVPRESS_DOCS_SCREENSHOT") == "1"


@pytest.fixture
def upload(tmp_path) -> Path:
    if docs_mode() and KODAK_SAMPLE.is_file():
        return KODAK_SAMPLE
    path = tmp_path / "garden.png"
    Image.fromarray(natural_like(240, 320, 3, seed=7), "RGB").save(path)
    return path


def side_metric(page, side: str, name: str):
    return page.locator(f"#metrics-row [data-side={side}] .m-{name}")


def set_side(page, side: str, codec: str, quality: int) -> None:
    controls = page.locator(f"#sides [data-side={side}]")
    controls.locator(".source").select_option(codec)
    controls.locator(".rate-mode").select_option("quality")
    controls.locator(".rate-value").fill(str(quality))


def test_compare_two_codecs_in_the_page(page, page_errors, server_url, upload):
    page.goto(server_url)
    expect(page.locator("#server-status")).to_contain_text("ready")
    page.set_input_files("#file-input", str(upload))
    expect(page.locator("#workspace")).to_be_visible()
    width, height = Image.open(upload).size
    expect(page.locator("#file-meta")).to_contain_text(f"{width} × {height}")

    set_side(page, "left", "jpeg", 30)
    set_side(page, "right", "webp", 30)
    expect(page.locator("#metrics-row [data-side=left] .metrics-title")).to_have_text("JPEG · q 30")
    expect(page.locator("#metrics-row [data-side=right] .metrics-title")).to_have_text("WebP · q 30")
    expect(page.locator("#tag-left")).to_have_text("JPEG · q 30")
    for side in ("left", "right"):
        expect(side_metric(page, side, "bpp")).to_have_text(re.compile(r"^\d+\.\d{3}$"))
        expect(side_metric(page, side, "psnr")).to_have_text(re.compile(r"^\d+\.\d{2} dB$"))
        expect(side_metric(page, side, "msssim")).to_have_text(re.compile(r"^0\.\d{4}$"))
        expect(side_metric(page, side, "encode")).to_have_text(re.compile(r"ms|s$"))
    expect(page.locator("#busy-left")).to_be_hidden()
    expect(page.locator("#busy-right")).to_be_hidden()

    drag_split_handle(page, to_fraction=0.4)
    zoom_in_and_out(page)
    check_download_is_the_codecs_file(page, upload)
    qualities = [10, 25, 40, 55, 70, 85, 95] if docs_mode() else [20, 50, 80]  # the page's default for docs
    run_rd_sweep(page, qualities)
    save_screenshot(page)

    page.locator('#rd-plot .series[data-codec="jpeg"] circle').last.click()
    expect(page.locator("#metrics-row [data-side=right] .metrics-title")).to_have_text(f"JPEG · q {qualities[-1]}")
    assert page_errors == []


def drag_split_handle(page, to_fraction: float) -> None:
    handle = page.locator("#split-handle")
    handle.scroll_into_view_if_needed()
    stage = page.locator("#stage").bounding_box()
    box = handle.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(stage["x"] + stage["width"] * to_fraction, y, steps=8)
    page.mouse.up()
    expect(handle).to_have_attribute("aria-valuenow", str(round(to_fraction * 100)))
    clip = page.locator("#pane-right").evaluate("pane => pane.style.clipPath")
    assert clip.startswith(f"inset(0px 0px 0px {round(to_fraction * 100)}")


def zoom_in_and_out(page) -> None:
    level = page.locator("#zoom-level")
    fitted = int(level.inner_text().rstrip("%"))
    page.click("#zoom-in")
    expect(level).to_have_text(f"{round(fitted * 1.25)}%")
    stage = page.locator("#stage").bounding_box()
    page.mouse.move(stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2)
    page.mouse.wheel(0, 300)  # scrolling down zooms out, about the cursor
    expect(level).not_to_have_text(f"{round(fitted * 1.25)}%")
    same = [page.locator(f"#image-{side}").evaluate("image => image.style.transform") for side in ("left", "right")]
    assert same[0] == same[1], "both sides must zoom together"
    page.click("#zoom-fit")
    expect(level).to_have_text(f"{fitted}%")


def check_download_is_the_codecs_file(page, upload: Path) -> None:
    with page.expect_download() as download_info:
        page.click("#metrics-row [data-side=left] .download-main")
    download = download_info.value
    assert download.suggested_filename == f"{upload.stem}-jpeg-q30.jpg"
    data = Path(download.path()).read_bytes()
    assert data == get_codec("jpeg").encode(open_image(upload), quality=30)


def run_rd_sweep(page, qualities: list[int]) -> None:
    for codec in ("jpeg", "webp"):
        expect(page.locator(f'#rd-codecs input[value="{codec}"]')).to_be_checked()
    checked = [box.get_attribute("value") for box in page.locator("#rd-codecs input:checked").all()]
    for codec in set(checked) - {"jpeg", "webp"}:  # e.g. the learned codec, the page's first default
        page.locator(f'#rd-codecs input[value="{codec}"]').uncheck()
    page.fill("#rd-qualities", ",".join(map(str, qualities)))
    page.click("#rd-run")
    expect(page.locator("#rd-plot .series")).to_have_count(2)
    expect(page.locator('#rd-plot .series[data-codec="webp"] circle')).to_have_count(len(qualities))
    expect(page.locator("#rd-plot .side-marker")).to_have_count(2)
    expect(page.locator("#rd-run")).to_have_text("Run sweep")


def save_screenshot(page) -> None:
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    if docs_mode():
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(SCREENSHOT, DOCS_SCREENSHOT)


def test_original_and_restored_sides(page, page_errors, server_url, upload, monkeypatch):
    def median(image, **_):
        return image.filter(ImageFilter.MedianFilter(3))

    monkeypatch.setattr(convpress, "deblock", median, raising=False)
    monkeypatch.setattr(convpress, "denoise", median, raising=False)
    page.goto(server_url)  # the page learns which restorations exist when it loads
    expect(page.locator("#server-status")).to_contain_text("ready")
    page.set_input_files("#file-input", str(upload))
    left = page.locator("#sides [data-side=left]")
    set_side(page, "left", "jpeg", 10)
    left.locator(".deblock").check()
    page.locator("#sides [data-side=right] .source").select_option("original")
    expect(page.locator("#metrics-row [data-side=left] .metrics-title")).to_have_text("JPEG · q 10 + deblock")
    expect(page.locator("#metrics-row [data-side=left] .metrics-note")).to_contain_text("Deblocked in")
    expect(side_metric(page, "left", "psnr")).to_have_text(re.compile(r"^\d+\.\d{2} dB$"))
    expect(page.locator("#metrics-row [data-side=right] .metrics-title")).to_have_text("Original")
    expect(side_metric(page, "right", "psnr")).to_have_text("— reference")
    with page.expect_download() as download_info:
        page.click("#metrics-row [data-side=right] .download-main")
    assert Path(download_info.value.path()).read_bytes() == upload.read_bytes()

    page.locator("#sides [data-side=right] .source").select_option("denoise")
    expect(page.locator("#metrics-row [data-side=right] .metrics-title")).to_have_text("Denoised")
    expect(page.locator("#metrics-row [data-side=right] .metrics-note")).to_contain_text("Denoised in")
    assert page_errors == []


def test_errors_are_shown_in_the_page(page, page_errors, server_url, tmp_path):
    fake = tmp_path / "holiday.png"
    fake.write_text("this is not a picture")
    page.goto(server_url)
    expect(page.locator("#server-status")).to_contain_text("ready")
    page.set_input_files("#file-input", str(fake))
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-text")).to_contain_text("holiday.png: the upload is not an image in a supported format")
    expect(page.locator("#workspace")).to_be_hidden()
    page.click("#error-close")
    expect(page.locator("#error")).to_be_hidden()

    transparent = tmp_path / "logo.png"
    Image.fromarray(natural_like(48, 64, 4, seed=3), "RGBA").save(transparent)
    page.set_input_files("#file-input", str(transparent))  # the left side defaults to JPEG: no alpha
    expect(page.locator("#busy-left")).to_have_class(re.compile(r"\bfailed\b"))
    expect(page.locator("#busy-left")).to_contain_text("jpeg cannot store RGBA images")
    expect(page.locator("#metrics-row [data-side=right] .metrics-title")).not_to_be_empty()
    expect(page.locator("#error-text")).to_have_text("Left side: jpeg cannot store RGBA images (it accepts L, RGB)")
    expect(page.locator("#error")).to_be_visible()  # the right side's success does not hide it
    assert page_errors == []
