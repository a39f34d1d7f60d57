"""Fixtures for the web panel's tests: an app in process, with a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from panel_helpers import Clock, MakeClient, panel_settings

from controlroom.rpc import ControlServer
from controlroom.testing.dummy_server import running_dummy
from controlroom.web import create_app
from controlroom.web.discovery import StaticDiscovery, Target
from controlroom.web.pages import Page


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_client(clock: Clock) -> Iterator[MakeClient]:
    """``make_client(targets={...}, pages=[...], **web)``: a started TestClient."""
    clients: list[TestClient] = []

    def make(
        targets: dict[str, Target] | None = None,
        pages: list[Page] | None = None,
        **web: Any,
    ) -> TestClient:
        from controlroom.web.app import PAGES

        app = create_app(
            panel_settings(**web),
            discovery=StaticDiscovery(targets or {}),
            clock=clock,
            pages=[*PAGES, *(pages or [])],
        )
        client = TestClient(app)
        client.__enter__()  # runs the lifespan: the hub's threads start
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


@pytest.fixture
def dummy_server() -> Iterator[ControlServer]:
    """A dummy control server publishing HK and status every 50 ms, for the live feed."""
    with running_dummy(0.05) as server:
        yield server
