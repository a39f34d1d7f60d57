"""The configuration manager: Setups and observations, served as a control server.

Its commands are declared on :class:`ConfigurationManager` like any device's,
so ``make_proxy(ConfigurationManager, endpoint)`` gives a client with the
same methods. Its status, published as ``status/confman`` on its PUB socket,
is ``{site, setup_id, obsid}``: what every server and client tags its data
with. Loading a Setup sends ``new_setup`` to the registered listeners;
starting and ending an observation send ``observation_started`` and
``observation_ended``.

The queries (listing, getting and comparing Setups, the context and the
observations) are answered even while a long command, such as the submit of
a large Setup, is running: they read the last commit and the state file,
which a command in progress never leaves half-written. Commands that change
something still run one at a time, in order.

A Setup's files (``web.status_file``, ``web.accept_file``) must lie under the
Settings' ``locations.data``: one naming a file elsewhere is refused when
submitted and when loaded (:mod:`controlroom.config.confine`).

:func:`build_server` builds it from the Settings; ``python -m
controlroom.processes.service confman`` (or ``controlroom confman run``) serves it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Unpack

from controlroom.config.confine import PathOutsideRoot, data_files
from controlroom.config.settings import directive_roots, location
from controlroom.config.setup import DEFAULT_MAX_SETUP_BYTES
from controlroom.device import Interface, command
from controlroom.rpc import ControlServer
from controlroom.rpc.endpoints import ServerEndpoints
from controlroom.services.confman.errors import InvalidSetup, ObservationError
from controlroom.services.confman.observations import ObservationLog
from controlroom.services.confman.repository import SetupRepository
from controlroom.services.control import service_server
from controlroom.wire.envelope import MAX_MESSAGE_BYTES

NAME = "confman"
Notify = Callable[[str, dict[str, Any]], None]

QUERIES = frozenset(
    {
        "list_setups",
        "get_setup",
        "diff_setups",
        "get_current_setup",
        "get_observation",
        "list_observations",
        "get_context",
    }
)
"""The commands that only read, answered even while another command runs."""


def _no_listeners(event: str, data: dict[str, Any]) -> None:
    """Where events go until the manager is attached to a server."""


class ConfigurationManager(Interface):
    """Keeps the versioned Setups, the current Setup and the observations of one site."""

    status_min_period_s = 0.01
    hk_min_period_s = 0.01

    def __init__(
        self, repository: SetupRepository, observations: ObservationLog, *, data_root: Path
    ) -> None:
        self.repository = repository
        self.observations = observations
        self.data_root = data_root  # where the files a Setup names must lie
        self.notify: Notify = _no_listeners

    @property
    def site(self) -> str:
        return self.repository.site

    @command(access="read")
    def list_setups(
        self, site: str | None = None, filters: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The metadata of every Setup (of SITE) whose key paths have the values in FILTERS."""
        return self.repository.list(site, filters)

    @command(access="read")
    def get_setup(self, setup_id: int, site: str | None = None) -> dict[str, Any]:
        """Setup SETUP_ID (with its _meta), without making it the current one."""
        return self.repository.get(setup_id, site).to_dict()

    @command(access="command")
    def load_setup(self, setup_id: int) -> dict[str, Any]:
        """Make Setup SETUP_ID the current one and tell the listeners (new_setup)."""
        running = self.observations.current()
        if running is not None:
            raise ObservationError(
                f"observation {running.obsid} is running; the Setup changes between observations"
            )
        setup = self.repository.get(setup_id)
        self._check_files(setup, f"Setup {setup_id} cannot be loaded: ")
        self.observations.set_setup_id(setup_id)
        self.notify("new_setup", {"setup_id": setup_id, "site": self.site})
        return setup.to_dict()

    @command(access="admin")
    def submit_setup(
        self, setup: dict[str, Any], description: str, derived_from: int | None = None
    ) -> int:
        """Store SETUP as the next version, committed with DESCRIPTION; returns its id."""
        if isinstance(setup, Mapping):  # the repository says what else a Setup must be
            self._check_files(setup, "")
        submitted = self.repository.submit(setup, description, derived_from)
        assert submitted.meta.id is not None
        return submitted.meta.id

    @command(access="read")
    def diff_setups(self, a: int, b: int, site: str | None = None) -> dict[str, Any]:
        """What changed from Setup A to Setup B: {changes: [{path, change, a, b}], text}."""
        return self.repository.diff(a, b, site)

    @command(access="read")
    def get_current_setup(self) -> dict[str, Any] | None:
        """The current Setup (with its _meta), or None before the first load_setup."""
        setup_id = self.observations.setup_id
        return None if setup_id is None else self.repository.get(setup_id).to_dict()

    @command(access="command")
    def start_observation(self, description: str) -> str:
        """Start an observation; returns its obsid. Refused while another one runs."""
        observation = self.observations.start(description, self.observations.setup_id)
        self.notify("observation_started", observation.to_dict())
        return observation.obsid

    @command(access="command")
    def end_observation(self) -> dict[str, Any]:
        """End the running observation; returns it, with its end time."""
        observation = self.observations.end()
        self.notify("observation_ended", observation.to_dict())
        return observation.to_dict()

    @command(access="read")
    def get_observation(self, obsid: str | None = None) -> dict[str, Any] | None:
        """The running observation (or observation OBSID, running or recently ended), or None."""
        if obsid is None:
            observation = self.observations.current()
        else:
            observation = self.observations.find(obsid)
        return None if observation is None else observation.to_dict()

    @command(access="read")
    def list_observations(self, limit: int = 50) -> list[dict[str, Any]]:
        """The running observation and the last ended ones, newest first, at most LIMIT."""
        return [o.to_dict() for o in self.observations.recent(limit)]

    @command(access="read")
    def get_context(self) -> dict[str, Any]:
        """The site, the current Setup id and the running obsid (None when there is none)."""
        return self.status()

    def status(self) -> dict[str, Any]:
        """What everyone tags data with: the site, the current Setup id and obsid."""
        running = self.observations.current()
        return {
            "site": self.site,
            "setup_id": self.observations.setup_id,
            "obsid": running.obsid if running is not None else None,
        }

    def housekeeping(self) -> dict[str, Any]:
        return self.status()

    def _check_files(self, setup: Mapping[str, Any], prefix: str) -> None:
        """Refuse a Setup naming a file outside the data directory."""
        try:
            data_files(setup, self.data_root)
        except PathOutsideRoot as exc:
            raise InvalidSetup(f"{prefix}{exc}") from None


def build_manager(settings: Mapping[str, Any]) -> ConfigurationManager:
    """A manager on the repository and state the Settings name (both created on first use)."""
    site = str(settings["site"])
    allowed = (settings.get("security") or {}).get("allowed_packages") or ()
    entry = (settings.get("services") or {}).get(NAME) or {}
    repository = SetupRepository(
        location(settings, "conf_repo"),
        site,
        allowed_packages=list(allowed),
        max_setup_bytes=int(entry.get("max_setup_bytes") or DEFAULT_MAX_SETUP_BYTES),
        file_roots=directive_roots(settings),
    )
    data = location(settings, "data")
    observations = ObservationLog(data / "confman" / "state.json", site)
    return ConfigurationManager(repository, observations, data_root=data)


def build_server(settings: Mapping[str, Any], **where: Unpack[ServerEndpoints]) -> ControlServer:
    """The configuration manager's control server, on the Settings' endpoints unless given."""
    manager = build_manager(settings)
    server = service_server(
        settings,
        NAME,
        manager,
        **where,
        # A large submit must not hold up those who only look.
        unqueued=QUERIES,
        status_period_s=0.5,
        max_message_bytes=request_limit(manager.repository.max_setup_bytes),
    )

    def notify(event: str, data: dict[str, Any] | None = None) -> None:
        server.notify(event, data)
        # Every server tags its rows and journal entries with the obsid and Setup id it
        # follows on this status: a change must reach them now, not a period later.
        server.status_changed()

    manager.notify = notify
    return server


def request_limit(max_setup_bytes: int) -> int:
    """The largest request accepted: room for a Setup of the maximum size, no more.

    A larger one is refused by the client before it is sent, so it is never
    unpacked here. Packed, a number may take three times the bytes it takes
    written out (``1.5``: 9 bytes against 3), hence the margin.
    """
    return min(MAX_MESSAGE_BYTES, 4 * max_setup_bytes + 64 * 1024)
