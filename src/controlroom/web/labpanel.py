"""What the panel does with the current Setup: its tasks and its watched status file.

:class:`LabPanel` puts together a :class:`~.labsetup.SetupFollower` (the
current Setup, fetched again when it changes), a :class:`~.taskdesk.TaskDesk`
and a :class:`~.statusdesk.StatusDesk`, both reloaded with each new Setup.
The pages that use it (``tasks``, ``statusfile``) give their routers
:func:`lab_lifespan`, so it starts after the live hub and stops before it,
once per app however many of those pages the app has.

Tests and embedders inject what it talks to before the app starts::

    app = create_app(settings, discovery=...)
    configure_lab(app, fetch_setup=lambda: setup, observations=starter)
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException
from starlette.requests import HTTPConnection

from controlroom.obs import Observation, observation
from controlroom.obs.taskservers import SettingsServers, use_servers
from controlroom.web.context import WebContext
from controlroom.web.errors import WebError
from controlroom.web.hub import Hub
from controlroom.web.labsetup import SetupFetch, SetupFollower, confman_endpoint_of, confman_fetch
from controlroom.web.statusdesk import StatusDesk
from controlroom.web.taskdesk import TaskDesk
from controlroom.web.taskrunner import ObservationStarter


@dataclass
class LabOptions:
    """What :func:`configure_lab` injects; None: found from the Settings."""

    fetch_setup: SetupFetch | None = None
    observations: ObservationStarter | None = None


class LabPanel:
    """The current Setup's tasks and status file, for one app."""

    def __init__(
        self, settings: Mapping[str, Any], hub: Hub, options: LabOptions | None = None
    ) -> None:
        options = options or LabOptions()
        self.settings = settings
        self.follower = SetupFollower(hub, options.fetch_setup or confman_fetch(settings))
        self.tasks = TaskDesk(
            settings,
            hub,
            observations=options.observations or functools.partial(_observation, settings),
        )
        self.status = StatusDesk(settings, hub)
        self.follower.on_change(self.tasks.load)
        self.follower.on_change(self.status.load)
        self.users = 0  # pages started with it

    def start(self) -> None:
        # One directory of servers per process: the tasks reach devices as this panel does.
        use_servers(SettingsServers(self.settings))
        self.tasks.publish_catalog()
        self.tasks.publish_runs()
        self.status.publish()
        self.follower.start()

    def stop(self) -> None:
        self.follower.stop()
        self.status.stop()
        use_servers(None)


def _observation(
    settings: Mapping[str, Any], description: str
) -> AbstractContextManager[Observation]:
    """An observation at the configuration manager the panel finds (registry, then Settings)."""
    endpoint = confman_endpoint_of(settings)
    if endpoint is None:
        raise WebError("no configuration manager to open the observation at")
    return observation(description, confman=endpoint)


def configure_lab(
    app: FastAPI,
    *,
    fetch_setup: SetupFetch | None = None,
    observations: ObservationStarter | None = None,
) -> None:
    """Inject the Setup fetch and the observation starter; call before the app starts."""
    app.state.lab_options = LabOptions(fetch_setup, observations)


def lab_panel(connection: HTTPConnection) -> LabPanel:
    """The app's :class:`LabPanel` (a FastAPI dependency); 503 before it started."""
    panel = getattr(connection.app.state, "lab_panel", None)
    if not isinstance(panel, LabPanel):
        raise HTTPException(status_code=503, detail="the panel is starting: try again")
    return panel


@contextlib.asynccontextmanager
async def lab_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the app's :class:`LabPanel` with the first page that uses it, stop it with the last."""
    panel = getattr(app.state, "lab_panel", None)
    if not isinstance(panel, LabPanel):
        context = app.state.web
        assert isinstance(context, WebContext)
        options = getattr(app.state, "lab_options", None)
        panel = LabPanel(context.settings, context.hub, options)
        app.state.lab_panel = panel
    panel.users += 1
    if panel.users == 1:
        panel.start()
    try:
        yield
    finally:
        panel.users -= 1
        if panel.users == 0:
            panel.stop()
            app.state.lab_panel = None
