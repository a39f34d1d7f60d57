"""The process manager as a control server: list, start, stop and restart the processes.

Its commands are declared on :class:`ProcessManager`, so
``make_proxy(ProcessManager, endpoint)`` gives a client with the same
methods. It only ever runs the argv of specs built by :mod:`.specs` from the
Settings and the current Setup; a command names a process, never a command
line, and a name it does not manage is refused.

It knows the core services from the start; the devices come with the current
Setup, fetched from the configuration manager by ``reload_setup`` (and by
``start_all`` once the configuration manager runs), and again whenever the
configuration manager sends ``new_setup``. Its listeners get
``process_started``, ``process_exited`` and ``process_failed``. When it stops,
it stops every process it started; a stop it was asked for (``quit``, SIGINT,
SIGTERM) is first recorded in its :class:`~.stopmark.StopMark`, so whoever
supervises it does not take it for a crash and start it again.

Each host runs one for the processes placed there (:mod:`.hosts`), serving as
``procman@<host>`` (:mod:`.managers`); it waits for what they need from other
hosts (:mod:`.remote`) and follows a configuration manager of another host.

``python -m controlroom.processes.service procman [--start-all]`` (or
``controlroom procman run``) serves it; it prints the ready line once it serves.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO, Unpack

from controlroom.device import Interface, command
from controlroom.rpc import ControlServer
from controlroom.rpc.endpoints import ServerEndpoints
from controlroom.rpc.factory import ProcessFactory
from controlroom.rpc.hosts import this_host
from controlroom.rpc.process import ready_line
from controlroom.services.control import service_server
from controlroom.services.procman.confmanlink import CONFMAN, ConfmanLink
from controlroom.services.procman.errors import ProcmanError
from controlroom.services.procman.hosts import local_specs
from controlroom.services.procman.managers import procman_entry, procman_name
from controlroom.services.procman.processspec import ProcessSpec
from controlroom.services.procman.remote import RemoteServers
from controlroom.services.procman.specs import SERVICES, process_specs
from controlroom.services.procman.stopmark import StopMark, procman_directory
from controlroom.services.procman.supervisor import Policy, Supervisor

LONG_S = 300.0  # proxy timeout of the commands that wait for processes to start or stop
Process = dict[str, Any]

log = logging.getLogger(__name__)


FACTORY_LOG = "factory.log"  # the process factory's own stderr, next to its children's
Preload = tuple[Sequence[str], Sequence[str]]


class ProcessManager(Interface):
    """Runs the core services and the Setup's control servers and simulators on this host."""

    status_min_period_s = 0.01
    hk_min_period_s = 0.01

    def __init__(
        self,
        settings: Mapping[str, Any],
        supervisor: Supervisor,
        python: str = "",
        *,
        host: str | None = None,
    ) -> None:
        self.settings = settings
        self.supervisor = supervisor
        self.python = python
        self.host = host or this_host(settings)
        self.name = procman_name(self.host)
        remote = RemoteServers(settings, timeout_s=supervisor.policy.ready_timeout_s)
        supervisor.wait_remote = remote.wait
        self.setup_id: int | None = None
        self.autostart = False  # after start_all: a new Setup's processes are started too
        self.stop_mark = StopMark(supervisor.log_dir)
        self.listen_endpoint: Callable[[], str | None] = lambda: None
        # A lambda, not the attribute: build_server replaces listen_endpoint later.
        listener = lambda: self.listen_endpoint()  # noqa: E731, PLW0108
        self.confman = ConfmanLink(
            settings, name=self.name, local=supervisor.ready, listener=listener
        )
        # Core services only until the Setup is known: devices left running stay for now.
        supervisor.set_specs(self._specs(None), complete=False)

    @command(access="read")
    def list_processes(self) -> list[Process]:
        """Every process: {name, kind, state, pid, restarts, exit_code, last_stderr, started,
        command, ...}."""
        return self.supervisor.describe()

    @command(timeout=LONG_S, access="admin")
    def start(self, name: str, wait: bool = True) -> Process:
        """Start process NAME; with WAIT, return once it is ready or has failed to start."""
        return self.supervisor.start(name, wait)

    @command(timeout=LONG_S, access="admin")
    def stop(self, name: str) -> Process:
        """Stop process NAME (SIGTERM to its process group, then SIGKILL)."""
        return self.supervisor.stop(name)

    @command(timeout=LONG_S, access="admin")
    def restart(self, name: str, wait: bool = True) -> Process:
        """Stop and start process NAME again (its restart count is kept)."""
        return self.supervisor.restart(name, wait)

    @command(timeout=LONG_S, access="admin")
    def start_all(self) -> list[Process]:
        """Start the core services, fetch the current Setup, then start its processes."""
        with self.supervisor.operations:
            self.autostart = True
            if not self._confman_running():  # else the Setup is known now: start all at once
                self.supervisor.start_all([n for n in SERVICES if n in self.supervisor.names()])
            if not self.confman_here():  # another host's: it may be on its way up
                self.supervisor.wait_remote([CONFMAN], self.supervisor.closing)
            try:
                self._reload()
            except ProcmanError as exc:  # run what we know; a later new_setup brings the rest
                log.warning("%s: Setup not reloaded: %s", self.name, exc)
            return self.supervisor.start_all()

    @command(timeout=LONG_S, access="admin")
    def stop_all(self) -> list[Process]:
        """Stop every process, control servers before the services they use."""
        with self.supervisor.operations:
            self.autostart = False
            return self.supervisor.stop_all()

    @command(timeout=LONG_S, access="admin")
    def reload_setup(self) -> dict[str, Any]:
        """Ask the configuration manager for the current Setup and follow it:
        {setup_id, added, removed, changed, processes}."""
        with self.supervisor.operations:
            changes = self._reload()
            return {"setup_id": self.setup_id, **changes, "processes": self.supervisor.describe()}

    def on_new_setup(self, payload: dict[str, Any] | None = None) -> None:
        """The ``new_setup`` event: fetch the Setup (never trust the event's data)."""
        try:
            self.reload_setup()
        except ProcmanError as exc:
            log.warning("%s: new Setup not followed: %s", self.name, exc)

    def on_process_event(self, event: str, data: dict[str, Any]) -> None:
        """A restarted configuration manager forgot its listeners: register again."""
        if event == "process_started" and data.get("name") == CONFMAN:
            self.confman.listen()

    def _reload(self) -> dict[str, list[str]]:
        setup = self.confman.current_setup()
        changes = self.supervisor.set_specs(self._specs(setup))
        meta = (setup or {}).get("_meta") or {}
        self.setup_id = meta.get("id") if isinstance(meta, dict) else None
        log.info("%s: following Setup %s: %s", self.name, self.setup_id, changes)
        if self.autostart:
            self.supervisor.start_all()
        return changes

    def confman_here(self) -> bool:
        """Whether the configuration manager is one of this host's processes."""
        return CONFMAN in self.supervisor.names()

    def _confman_running(self) -> bool:
        names = self.supervisor.names()
        return CONFMAN in names and str(self.supervisor.get(CONFMAN).state) == "running"

    def _specs(self, setup: Mapping[str, Any] | None) -> list[ProcessSpec]:
        specs = process_specs(self.settings, setup, python=self.python)
        return local_specs(specs, self.settings, me=self.host)

    def status(self) -> dict[str, Any]:
        return {**self.supervisor.counts(), "setup_id": self.setup_id, "host": self.host}

    def housekeeping(self) -> dict[str, Any]:
        return self.status()

    def disconnect(self) -> None:
        """Stop every process when the process manager stops."""
        self.supervisor.close()


def build_manager(
    settings: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    python: str = "",
    host: str | None = None,
    preload: Preload | None = None,
) -> ProcessManager:
    """A manager of this host's processes, logging them under ``<state>/procman`` (of the
    host's state folder, see :func:`~.stopmark.state_directory`).

    ``env`` is the environment of the children (default: ours), e.g. with the
    ``CONTROLROOM_LOCAL_SETTINGS`` that makes them read the same Settings;
    ``python`` the interpreter they run with (default: ours); ``host`` the
    host it manages (default: :func:`~controlroom.rpc.hosts.this_host`);
    ``preload`` the modules of the process factory (first, later) when the
    Settings let it fork (``services.procman.fork``); without it every process
    is spawned.
    """
    host = host or this_host(settings)
    folder = procman_directory(settings, host)
    factory = None
    if preload is not None and settings["services"]["procman"].get("fork", True):
        first, later = preload
        factory = ProcessFactory(
            python or sys.executable,
            first,
            later=later,
            env=env,
            log_path=folder / FACTORY_LOG,
        )
        factory.prepare()
    policy = Policy.from_settings(settings)
    supervisor = Supervisor(policy, folder, env=env, factory=factory)
    return ProcessManager(settings, supervisor, python, host=host)


def build_server(
    settings: Mapping[str, Any],
    manager: ProcessManager,
    **where: Unpack[ServerEndpoints],
) -> ControlServer:
    """The process manager's control server ``procman@<host>``, on the Settings' endpoints
    unless given."""
    # Served like every core service, under its host's name rather than the Settings key.
    ours = {"services": {manager.name: procman_entry(settings, manager.host)}}
    server = service_server(ours, manager.name, manager, **where)

    def notify(event: str, data: dict[str, Any]) -> None:
        server.notify(event, data)
        manager.on_process_event(event, data)

    manager.supervisor.notify = notify
    manager.listen_endpoint = lambda: server.endpoint
    server.on_event("new_setup", manager.on_new_setup)
    return server


def serve(
    server: ControlServer,
    manager: ProcessManager,
    *,
    start_all: bool = False,
    ready_stream: TextIO | None = None,
) -> None:
    """Start, print the ready line, optionally start everything, serve until told to stop."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: server.stopping.set())
    server.start()
    manager.stop_mark.clear()  # serving: from now on a stop on purpose is this run's
    try:
        print(ready_line(server), file=ready_stream or sys.stdout, flush=True)
        if start_all:  # on a thread: the command loop answers (list_processes) meanwhile
            threading.Thread(
                target=manager.start_all, name="procman-start-all", daemon=True
            ).start()
        if not manager.confman_here():  # another host's: no process_started tells us of it
            threading.Thread(
                target=manager.confman.follow,
                args=(server.stopping, lambda: manager.setup_id, manager.on_new_setup),
                name="procman-confman-follow",
                daemon=True,
            ).start()
        server.stopping.wait()  # what serve_forever waits for: quit, SIGINT or SIGTERM
        # Before any process is stopped: a supervisor that sees us gone knows it was asked.
        manager.stop_mark.set("quit, SIGINT or SIGTERM")
        server.stop()  # as serve_forever would; the one below is for an error
    finally:
        server.stop(timeout=LONG_S)
