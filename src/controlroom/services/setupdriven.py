"""A core service that runs what the current Setup names: the scheduler and the scenarios service.

Such a service takes its work (jobs, rules) from the Setup the configuration
manager has loaded. It registers with the configuration manager for
``new_setup`` and, on that event, a task of the server (never the command loop
nor the events thread) fetches the new Setup and loads it. The registration is
renewed every ``follow_s``, which also catches up with a Setup loaded while
either of the two was down.

What the Setup names runs through a :class:`Runner`: services do not import
``controlroom.obs``, so the program that starts the service passes one
(:mod:`controlroom.processes.jobs` opens observations around building blocks).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from controlroom.device import Interface
from controlroom.rpc import ControlServer, Proxy, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.rpc.events import Event

FOLLOW_S = 10.0  # how often the registration with the configuration manager is renewed

log = logging.getLogger(__name__)

_NOTHING = object()  # no Setup loaded yet, not even none


class Runner(Protocol):
    """Runs ``target(**kwargs)``, in an observation where one is wanted; returns its obsid.

    ``observation`` describes the observation to open (None: a building block
    still opens one, described by ``default_observation``, else by its full
    name; anything else runs outside one). The obsid returned is None when it
    opened none.
    """

    def __call__(
        self,
        target: Callable[..., Any],
        kwargs: dict[str, Any],
        *,
        observation: str | None,
        confman: str,
        default_observation: str | None = None,
    ) -> str | None: ...


def setup_id_of(setup: Mapping[str, Any] | None) -> int | None:
    meta = (setup or {}).get("_meta")
    return meta.get("id") if isinstance(meta, Mapping) else None


def allowed_packages(settings: Mapping[str, Any], service: str, *also: str) -> tuple[str, ...]:
    """Where the Setup may take functions from: ``security.allowed_packages``, the
    service's own ``allowed_packages`` and ``also``."""
    entry = (settings.get("services") or {}).get(service) or {}
    return (
        *((settings.get("security") or {}).get("allowed_packages") or ()),
        *(entry.get("allowed_packages") or ()),
        *also,
    )


def confman_proxy(settings: Mapping[str, Any], confman: str | None) -> Proxy:
    """A proxy for the configuration manager at ``confman``, else at the Settings' one."""
    endpoint = connectable(confman or str(settings["services"]["confman"]["commands"]))
    timeout = float((settings.get("defaults") or {}).get("proxy_timeout_s", 5.0))
    return Proxy(endpoint, name="confman", timeout=timeout)


class SetupDriven(Interface):
    """Base of such a service: its line to the configuration manager and the Setup it loaded.

    A subclass puts a Setup's work in force in :meth:`load`, under ``_lock``,
    and sets ``attempted`` there so that a Setup that fails to load is not
    retried.
    """

    def __init__(self, confman: Proxy, allowed_packages: Iterable[str]) -> None:
        self.confman = confman
        self.allowed_packages = tuple(allowed_packages)
        self.setup_id: int | None = None
        self.attempted: object = _NOTHING  # the Setup id last loaded, or tried to be
        self._lock = threading.Lock()
        # The follow task and the reload command both talk to the configuration manager.
        self._confman_lock = threading.Lock()

    def fetch_setup(self) -> Mapping[str, Any] | None:
        """The configuration manager's current Setup (None before its first load_setup)."""
        with self._confman_lock:
            setup = self.confman.call("get_current_setup")
        return setup if isinstance(setup, Mapping) else None

    def listen(self, server: ControlServer) -> None:
        """Have the configuration manager tell ``server`` of each new Setup."""
        listener = (server.name, server.endpoint, ["new_setup"])
        with self._confman_lock:
            self.confman.request("register_listener", listener)

    def load(self, setup: Mapping[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    def disconnect(self) -> None:
        self.confman.close()


class SetupFollower:
    """Keeps a Setup-driven service on the configuration manager's current Setup."""

    def __init__(self, server: ControlServer, service: SetupDriven, every_s: float) -> None:
        self.server = server
        self.service = service
        self.every_s = every_s
        self._reachable = True  # to log an outage once, not every period

    def attach(self) -> None:
        self.server.on_event("new_setup", self._on_new_setup)
        self.server.tasks.schedule(self.follow, every_s=self.every_s, name="follow confman")

    def _on_new_setup(self, event: Event) -> None:
        # The configuration manager is answered at once; the fetch runs as a task.
        self.server.tasks.schedule(self._reload, name="load the new Setup")

    def _reload(self) -> None:
        try:
            self.service.load(self.service.fetch_setup())
        except RpcError as exc:
            log.warning("cannot fetch the new Setup: %s", exc)

    def follow(self) -> None:
        """Renew the registration; load the current Setup if it is not the one we have."""
        try:
            self.service.listen(self.server)
            setup = self.service.fetch_setup()
        except RpcError as exc:
            if self._reachable:
                log.warning("the configuration manager does not answer: %s", exc)
            self._reachable = False
            return
        if not self._reachable:
            log.info("the configuration manager answers again")
        self._reachable = True
        if setup_id_of(setup) != self.service.attempted:
            self.service.load(setup)
