"""The panel process with a certificate: HTTPS only, Secure cookies, HSTS, an https ready line.

The panel is started the way the process manager starts it (the argv of
``web_spec``), with local Settings naming a fresh self-signed pair.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from panel_helpers import PASSWORDS, panel_settings

from controlroom.config.settings import LOCAL_SETTINGS_ENV
from controlroom.rpc.process import READY_PREFIX
from controlroom.services.procman.processspec import parse_web_ready
from controlroom.services.procman.specs import web_spec
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.processes import ServerProcess
from controlroom.web.security import COOKIE
from controlroom.web.tlscert import make_self_signed

SERVICES = ("registry", "logman", "confman", "storage", "scheduler", "scenarios", "procman")
START_S = 30.0  # the panel imports FastAPI and friends before it listens


def _free() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"


def _local_settings(tmp_path: Path, web: dict[str, Any]) -> dict[str, Any]:
    """Nobody else's services (free ports), files under tmp_path, the panel as ``web`` says."""
    services: dict[str, dict[str, str]] = {
        name: {"commands": _free(), "publish": _free()} for name in SERVICES
    }
    services["logman"]["records"] = _free()
    return {
        "services": services,
        "locations": {key: str(tmp_path / key) for key in ("conf_repo", "data", "state")},
        "devices": {},
        "web": {**panel_settings()["web"], "host": "127.0.0.1", "port": 0, **web},
    }


def _use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: dict[str, Any]) -> None:
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv(LOCAL_SETTINGS_ENV, str(path))


@pytest.fixture
def cert(tmp_path: Path) -> Path:
    cert, key = tmp_path / "tls" / "panel.crt", tmp_path / "tls" / "panel.key"
    make_self_signed(cert, key, ["localhost", "127.0.0.1"])
    return cert


@pytest.fixture
def panel(tmp_path: Path, cert: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProcess]:
    settings = _local_settings(
        tmp_path, {"tls_cert": str(cert), "tls_key": str(cert.with_suffix(".key"))}
    )
    _use(tmp_path, monkeypatch, settings)
    argv = web_spec(settings, sys.executable).argv
    with ServerProcess(argv, ready_timeout=START_S) as process:
        yield process


@pytest.fixture
def trusting(cert: Path) -> Iterator[httpx.Client]:
    """A client that trusts the panel's own certificate, and nothing else."""
    with httpx.Client(verify=ssl.create_default_context(cafile=str(cert)), timeout=10.0) as client:
        yield client


def test_the_ready_line_announces_an_https_url_the_process_manager_understands(
    panel: ServerProcess,
) -> None:
    url = panel.endpoints["url"]
    assert url.startswith("https://127.0.0.1:") and url.endswith("/")
    port = url.rsplit(":", 1)[1].rstrip("/")
    line = READY_PREFIX + json.dumps(panel.endpoints)
    assert parse_web_ready(line) == {"url": url, "http": f"tcp://127.0.0.1:{port}"}


def test_login_over_https_sets_a_secure_cookie_and_hsts(
    panel: ServerProcess, trusting: httpx.Client
) -> None:
    url = panel.endpoints["url"]
    page = trusting.get(f"{url}login")
    assert page.status_code == 200
    assert page.headers["strict-transport-security"].startswith("max-age=")
    reply = trusting.post(
        f"{url}api/login", json={"username": "otto", "password": PASSWORDS["otto"]}
    )
    assert reply.status_code == 200, reply.text
    cookies = [c for c in reply.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
    assert len(cookies) == 1
    attributes = [part.strip().lower() for part in cookies[0].split(";")]
    assert "secure" in attributes and "httponly" in attributes
    assert trusting.get(f"{url}api/session").json()["user"] == "otto"  # the cookie came back


def test_a_client_that_does_not_trust_the_certificate_is_refused(panel: ServerProcess) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{panel.endpoints['url']}login", timeout=10.0)


def test_plain_http_to_the_https_port_gets_no_page(panel: ServerProcess) -> None:
    plain = panel.endpoints["url"].replace("https://", "http://", 1)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{plain}login", timeout=10.0)


def test_the_panel_process_refuses_a_public_address_without_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(tmp_path, monkeypatch, _local_settings(tmp_path, {"host": "0.0.0.0"}))
    argv = [sys.executable, "-m", "controlroom.web", "--port", "0"]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=START_S)
    assert done.returncode == 1
    assert "web.tls_cert" in done.stderr and "controlroom keys init --tls" in done.stderr
    assert READY_PREFIX.strip() not in done.stdout
