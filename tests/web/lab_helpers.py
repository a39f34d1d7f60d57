"""Helpers for tests of the panel's tasks and status file (imported by name: keep it unique).

``lab_app`` builds an app whose current Setup is whatever a :class:`SetupHolder`
holds; :func:`new_setup` makes the panel fetch it again, as when the
configuration manager publishes a new Setup id.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from controlroom.testing.waiting import wait_until
from controlroom.web import create_app
from controlroom.web.discovery import StaticDiscovery, Target
from controlroom.web.hub import Message
from controlroom.web.labpanel import LabPanel, configure_lab
from controlroom.web.taskrunner import ObservationStarter

READY_S = 10.0


class SetupHolder:
    """The stand-in configuration manager's current Setup (a fetch: call it)."""

    def __init__(self, setup: Mapping[str, Any] | None) -> None:
        self.setup = setup

    def __call__(self) -> Mapping[str, Any] | None:
        return self.setup


def lab_app(
    settings: Mapping[str, Any],
    holder: SetupHolder,
    *,
    observations: ObservationStarter | None = None,
    targets: Mapping[str, Target] | None = None,
) -> FastAPI:
    app = create_app(settings, discovery=StaticDiscovery(targets or {}))
    configure_lab(app, fetch_setup=holder, observations=observations)
    return app


def lab_of(app: FastAPI, fetches: int = 1) -> LabPanel:
    """The app's LabPanel once it has fetched the Setup ``fetches`` times."""
    assert wait_until(lambda: isinstance(getattr(app.state, "lab_panel", None), LabPanel), READY_S)
    panel: LabPanel = app.state.lab_panel
    assert wait_until(lambda: panel.follower.fetches >= fetches, READY_S), "no Setup fetched"
    return panel


def new_setup(app: FastAPI, holder: SetupHolder, setup: Mapping[str, Any], setup_id: int) -> None:
    """Make ``setup`` current, as the configuration manager does, and wait for the panel."""
    before = lab_of(app, 0).follower.fetches
    holder.setup = setup
    status = Message("status/confman", "confman", time.time(), {"setup_id": setup_id})
    app.state.web.hub.publish([status])
    lab_of(app, before + 1)
