"""The REST service and the web page: ``create_app(settings)`` builds the FastAPI application.

Endpoints live under ``/api`` (OpenAPI schema at ``/api/openapi.json``) and the page at ``/``.
Handlers only read uploads and form fields; the image work runs on the bounded
:class:`~convpress.service.limits.WorkerPool` as the functions of :mod:`convpress.service.jobs`.
Every error is JSON ``{"detail": "..."}``: user mistakes are 4xx with the library's own message,
never a traceback. The page and its API send a Content-Security-Policy that allows nothing but this
origin, so the page cannot fetch anything from outside (FastAPI's Swagger pages, which load from a
CDN, are turned off for the same reason).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from convpress import __version__
from convpress.errors import (
    CodecUnavailableError,
    ConvpressError,
    CorruptDataError,
    DeadlineExceededError,
    InvalidParameterError,
    UnsupportedImageError,
)
from convpress.service import jobs, schemas
from convpress.service.inputs import UnreadableUploadError, UploadTooLargeError, check_upload_size
from convpress.service.limits import JobTimeoutError, ServiceBusyError, ServiceSettings, WorkerPool
from convpress.service.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware

STATIC_DIR = Path(__file__).parent / "static"
ERROR_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (UploadTooLargeError, 413),
    (UnreadableUploadError, 415),
    (jobs.RestorationUnavailableError, 501),
    (InvalidParameterError, 422),
    (CorruptDataError, 422),
    (UnsupportedImageError, 422),
    (CodecUnavailableError, 400),
    (DeadlineExceededError, 504),
    (ConvpressError, 400),
    (ServiceBusyError, 503),
    (JobTimeoutError, 504),
)
"""HTTP status of each error the service raises on purpose; the first matching class wins."""
ERROR_RESPONSES = {
    status: {"model": schemas.ErrorDetail} for status in (400, 413, 415, 422, 501, 503, 504)
}

log = logging.getLogger("convpress.service")


@dataclass(frozen=True)
class Service:
    settings: ServiceSettings
    pool: WorkerPool


def service_of(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(service_of)]
ReferenceUpload = Annotated[
    UploadFile | None, File(description="Optional clean image: PSNR and MS-SSIM are measured against it.")
]


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The application with its own worker pool; the pool stops when the application shuts down."""
    settings = settings or ServiceSettings()
    service = Service(settings, WorkerPool(settings.workers, settings.max_queue, settings.timeout_s))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.pool.shutdown()

    app = FastAPI(
        title="convpress",
        version=__version__,
        description="Compress images with CNN and classical codecs, compare them, and restore them.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    for error_class, _ in ERROR_STATUS:
        app.add_exception_handler(error_class, error_response)
    app.add_exception_handler(Exception, internal_error_response)
    _add_routes(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


async def error_response(request: Request, exc: Exception) -> JSONResponse:
    status = next(code for error_class, code in ERROR_STATUS if isinstance(exc, error_class))
    return JSONResponse({"detail": str(exc)}, status_code=status)


async def internal_error_response(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": f"internal error ({type(exc).__name__}); see the server log"}, status_code=500)


async def read_upload_bytes(upload: UploadFile, settings: ServiceSettings) -> bytes:
    data = await upload.read()
    check_upload_size(data, settings.max_upload_bytes)
    return data


def _add_routes(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/api/health", response_model=schemas.Health, tags=["service"])
    async def health(service: ServiceDep) -> schemas.Health:
        """Liveness, version, current load and the limits in force."""
        settings = service.settings
        limits = schemas.Limits(
            max_upload_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_pixels,
            timeout_s=settings.timeout_s,
            workers=settings.workers,
            max_queue=settings.max_queue,
        )
        return schemas.Health(version=__version__, pending_jobs=service.pool.pending, limits=limits)

    @app.get("/api/codecs", response_model=schemas.Catalogue, tags=["codecs"])
    async def codecs() -> schemas.Catalogue:
        """Every registered codec with its modes, extensions and options, and the installed models."""
        return jobs.catalogue()

    @app.post("/api/compress", response_model=schemas.CompressResult, responses=ERROR_RESPONSES, tags=["codecs"])
    async def compress(
        service: ServiceDep,
        image: Annotated[UploadFile, File(description="Image to compress (any accepted format).")],
        codec: Annotated[str, Form(description="Codec name, see /api/codecs.")],
        quality: Annotated[float | None, Form(description="1-100; default 75.")] = None,
        lossless: Annotated[bool, Form(description="Lossless mode, where the codec has one.")] = False,
        target_bpp: Annotated[float | None, Form(description="Search the quality for this many bits per pixel.")] = None,
        target_size: Annotated[str | None, Form(description="Search for this size: 40KB, 1.5MB, 12000.")] = None,
        target_psnr: Annotated[float | None, Form(description="Search the quality for this PSNR (dB).")] = None,
        options: Annotated[str | None, Form(description='Codec options as JSON, e.g. {"subsampling": "4:4:4"}.')] = None,
    ) -> schemas.CompressResult:
        """Compress, decode back and measure: bytes, bpp, PSNR, MS-SSIM and times, with both files."""
        rate = jobs.RateRequest(quality, lossless, target_bpp, target_size, target_psnr)
        settings = service.settings
        data = await read_upload_bytes(image, settings)
        return await service.pool.run(
            jobs.compress_job, data, codec, rate, jobs.parse_options(options), settings.max_pixels
        )

    @app.post(
        "/api/decode",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}, "description": "The decoded image."}, **ERROR_RESPONSES},
        tags=["codecs"],
    )
    async def decode(
        service: ServiceDep,
        file: Annotated[UploadFile, File(description="A .cpz file or an image in any accepted format.")],
    ) -> Response:
        """Decode any supported file to PNG; headers give its format, size and decoding time."""
        data = await read_upload_bytes(file, service.settings)
        decoded = await service.pool.run(jobs.decode_job, data, service.settings.max_pixels)
        headers = {
            "X-Convpress-Format": decoded.format,
            "X-Image-Width": str(decoded.width),
            "X-Image-Height": str(decoded.height),
            "X-Decode-Ms": f"{decoded.decode_ms:.2f}",
        }
        return Response(decoded.png, media_type="image/png", headers=headers)

    @app.post("/api/sweep", response_model=schemas.SweepResult, responses=ERROR_RESPONSES, tags=["codecs"])
    async def sweep(
        service: ServiceDep,
        image: Annotated[UploadFile, File(description="Image to sweep.")],
        codecs: Annotated[str, Form(description="Comma-separated codec names, e.g. jpeg,webp.")],
        qualities: Annotated[str | None, Form(description="Comma-separated qualities; default 10,25,40,55,70,85,95.")] = None,
    ) -> schemas.SweepResult:
        """Rate-distortion points (bpp, PSNR) of each codec over a quality sweep."""
        names, values = jobs.parse_sweep_request(codecs, qualities)
        settings = service.settings
        data = await read_upload_bytes(image, settings)
        return await service.pool.run(jobs.sweep_job, data, names, values, settings.max_pixels)

    async def restore(
        service: Service, kind: str, image: UploadFile, parameter: float | None, reference: UploadFile | None
    ) -> schemas.RestoreResult:
        restorer = jobs.find_restorer(kind)  # 501 before reading uploads when the model is missing
        settings = service.settings
        data = await read_upload_bytes(image, settings)
        reference_data = await read_upload_bytes(reference, settings) if reference is not None else None
        return await service.pool.run(
            jobs.restore_job, restorer, kind, data, parameter, reference_data, settings.max_pixels
        )

    @app.post("/api/denoise", response_model=schemas.RestoreResult, responses=ERROR_RESPONSES, tags=["restoration"])
    async def denoise(
        service: ServiceDep,
        image: Annotated[UploadFile, File(description="Noisy image.")],
        sigma: Annotated[float | None, Form(description="Noise level (0-255 scale); estimated when absent.")] = None,
        reference: ReferenceUpload = None,
    ) -> schemas.RestoreResult:
        """Remove noise with convpress.denoise (501 when it is not installed)."""
        return await restore(service, "denoise", image, sigma, reference)

    @app.post("/api/deblock", response_model=schemas.RestoreResult, responses=ERROR_RESPONSES, tags=["restoration"])
    async def deblock(
        service: ServiceDep,
        image: Annotated[UploadFile, File(description="Decoded image with compression artifacts.")],
        quality: Annotated[float | None, Form(description="Quality it was compressed at; estimated when absent.")] = None,
        reference: ReferenceUpload = None,
    ) -> schemas.RestoreResult:
        """Remove blocking and ringing with convpress.deblock (501 when it is not installed)."""
        return await restore(service, "deblock", image, quality, reference)
