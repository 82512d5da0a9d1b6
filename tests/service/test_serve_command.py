"""``convpress serve``: arguments become service settings; the server binds to localhost by default."""

from __future__ import annotations

import pytest
import uvicorn
from fastapi import FastAPI

from convpress.cli import build_parser, main
from convpress.cli.serve_command import is_loopback, settings_from_args
from convpress.service.limits import MIB, ServiceSettings


def test_defaults_are_the_service_defaults():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    assert settings_from_args(args) == ServiceSettings()


def test_options_set_the_limits():
    args = build_parser().parse_args(
        ["serve", "--max-upload-mb", "8", "--max-pixels", "1000000", "--workers", "3", "--max-queue", "5", "--timeout", "7.5"]
    )
    assert settings_from_args(args) == ServiceSettings(
        max_upload_bytes=8 * MIB, max_pixels=1_000_000, workers=3, max_queue=5, timeout_s=7.5
    )


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("example.org", False)])
def test_loopback_detection(host, loopback):
    assert is_loopback(host) is loopback


def test_serve_runs_uvicorn_with_the_app_on_localhost(monkeypatch, capsys):
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.update(app=app, **kwargs))
    assert main(["serve", "--port", "8123", "--workers", "1"]) == 0
    assert isinstance(started["app"], FastAPI)
    assert (started["host"], started["port"]) == ("127.0.0.1", 8123)
    assert started["app"].state.service.settings.workers == 1
    assert "serving on http://127.0.0.1:8123/" in capsys.readouterr().err


def test_serving_beyond_localhost_warns(monkeypatch, capsys):
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    assert main(["serve", "--host", "0.0.0.0"]) == 0
    assert "anyone who can reach it can use the service" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(["--workers", "0"], "workers must be at least 1"), (["--port", "70000"], "port must be between 1 and 65535")],
)
def test_bad_settings_exit_2_before_serving(monkeypatch, capsys, arguments, message):
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: pytest.fail("must not start"))
    assert main(["serve", *arguments]) == 2
    assert message in capsys.readouterr().err
