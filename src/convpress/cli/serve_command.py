"""``convpress serve``: the REST service and the comparison web page, on this machine by default."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from convpress.errors import ConvpressError
from convpress.service.limits import MIB, ServiceSettings

DEFAULTS = ServiceSettings()


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the REST service and the web page",
        description="Serve the REST API (/api, schema at /api/openapi.json) and the page that compares "
        "codecs side by side (/). Listens on 127.0.0.1 unless told otherwise; there is no authentication.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--max-upload-mb",
        type=float,
        default=DEFAULTS.max_upload_bytes / MIB,
        metavar="MB",
        help=f"largest uploaded file in MiB (default {DEFAULTS.max_upload_bytes / MIB:g})",
    )
    serve.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULTS.max_pixels,
        metavar="N",
        help=f"largest image in pixels, width x height (default {DEFAULTS.max_pixels})",
    )
    serve.add_argument("--workers", type=int, default=DEFAULTS.workers, help=f"image jobs run at once (default {DEFAULTS.workers})")
    serve.add_argument(
        "--max-queue", type=int, default=DEFAULTS.max_queue, help=f"jobs that may wait for a worker (default {DEFAULTS.max_queue})"
    )
    serve.add_argument(
        "--timeout", type=float, default=DEFAULTS.timeout_s, metavar="SECONDS", help=f"time limit of one job (default {DEFAULTS.timeout_s:g})"
    )
    serve.set_defaults(handler=run_serve)


def settings_from_args(args: argparse.Namespace) -> ServiceSettings:
    return ServiceSettings(
        max_upload_bytes=int(args.max_upload_mb * MIB),
        max_pixels=args.max_pixels,
        workers=args.workers,
        max_queue=args.max_queue,
        timeout_s=args.timeout,
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not 0 < args.port < 65536:
        raise ConvpressError(f"port must be between 1 and 65535, got {args.port}")
    import uvicorn

    from convpress.service.app import create_app

    if not is_loopback(args.host):
        print(
            f"convpress: warning: listening on {args.host}: anyone who can reach it can use the service "
            "(there is no authentication)",
            file=sys.stderr,
        )
    print(f"convpress: serving on http://{args.host}:{args.port}/ (Ctrl-C to stop)", file=sys.stderr)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0
