"""Core services in this process for the web panel's tests (imported by name: keep it unique).

``running_confman``, ``running_storage`` and ``running_logman`` start the real
servers on loopback ports the OS picks, with their files under a temporary
directory, and stop them on exit. ``services_panel`` builds the panel on
them: the Settings name their endpoints and the discovery follows their PUB
sockets, so the hub gets their status, events and log records.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from panel_helpers import panel_settings

from controlroom.rpc import ControlServer
from controlroom.services.confman import server as confman
from controlroom.services.logs import server as logman
from controlroom.services.storage import server as storage
from controlroom.web import create_app
from controlroom.web.discovery import StaticDiscovery, Target

ANY_PORT = "tcp://127.0.0.1:0"
HEXAPOD = {"gse": {"hexapod": {"ID": 42, "name": "PUNA"}}, "sut": {"mass_kg": 12.5}}


def service_settings(tmp_path: Path, name: str, **entry: Any) -> dict[str, Any]:
    return {
        "site": "LAB",
        "services": {name: {"commands": ANY_PORT, "publish": ANY_PORT, **entry}},
        "locations": {where: str(tmp_path / where) for where in ("conf_repo", "data", "state")},
        "storage": {"backends": ["sqlite"]},
    }


@contextlib.contextmanager
def running_confman(tmp_path: Path) -> Iterator[ControlServer]:
    """The configuration manager on a fresh repository of Setups."""
    server = confman.build_server(service_settings(tmp_path, "confman"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_storage(tmp_path: Path) -> Iterator[ControlServer]:
    """The storage manager on an SQLite file."""
    server = storage.build_server(service_settings(tmp_path, "storage"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_logman(tmp_path: Path) -> Iterator[tuple[ControlServer, logman.LogManager]]:
    """The log manager writing to ``tmp_path/logs``: (server, manager)."""
    settings = service_settings(tmp_path, "logman", records=ANY_PORT)
    manager = logman.build_manager(settings, records_endpoint=ANY_PORT, directory=tmp_path / "logs")
    server = logman.build_server(settings, manager)
    server.start()
    try:
        yield server, manager
    finally:
        server.stop()


@contextlib.contextmanager
def services_panel(servers: Mapping[str, ControlServer], **web: Any) -> Iterator[TestClient]:
    """A started panel whose Settings and discovery name ``servers`` (name → server)."""
    settings = panel_settings(**web)
    settings["services"] = {
        name: {"commands": s.endpoint, "publish": s.pub_endpoint} for name, s in servers.items()
    }
    targets = {
        name: Target(name, "service", s.endpoint, s.pub_endpoint) for name, s in servers.items()
    }
    app = create_app(settings, discovery=StaticDiscovery(targets))
    with TestClient(app) as client:
        yield client


def csrf_header(token: str) -> dict[str, str]:
    return {"X-CSRF-Token": token}
