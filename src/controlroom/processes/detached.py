"""Processes that outlive the command that started them, found again by their state files.

``controlroom <service> start``, ``cs start``, ``up`` and the watcher of
``up -d`` all start a process the same way: detached (a session of its own),
stdout read until its ready line, then its PID and the endpoints it announced
written to its state file (:mod:`.statefiles`) under that file's lock. A
core service runs as ``python -m controlroom.processes.service NAME``.
Stopping asks a control server to quit and falls back to signals.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psutil

from controlroom.config.settings import LOCAL_SETTINGS_ENV
from controlroom.processes.entry import ProcessError
from controlroom.processes.service import ServiceDefinition
from controlroom.processes.statefiles import ProcessRecord, StateFiles
from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.child import (
    STOP_GRACE_S,
    Child,
    NotReady,
    module_argv,
    stop_process,
    wait_gone,
)
from controlroom.rpc.hosts import HOST_ENV, UnknownHost, this_host
from controlroom.rpc.process import parse_ready_line
from controlroom.services.procman.stopmark import state_directory

T = TypeVar("T")

KIND = "cs"  # core services are control servers: same state files as devices
READY_TIMEOUT_S = 30.0
QUIT_TIMEOUT_S = 2.0
SERVICE_MODULE = "controlroom.processes.service"


@dataclass(frozen=True)
class LocalState:
    """The Settings read here, the file they came from, ``--debug`` and the host
    ``--host`` named: what a process started from here inherits, and the state
    directory where it is recorded."""

    settings: Mapping[str, Any]
    settings_file: Path | None = None
    debug: bool = False
    host: str | None = None  # None: the children find their host as we would

    @property
    def host_name(self) -> str:
        """The host we run as: the one ``--host`` named, else :func:`this_host`."""
        try:
            return self.host or this_host(self.settings)
        except UnknownHost as exc:
            raise ProcessError(str(exc)) from None

    @property
    def files(self) -> StateFiles:
        """The state files of this host's detached processes."""
        return StateFiles(state_directory(self.settings, self.host_name))

    def child_env(self) -> dict[str, str]:
        """Environment for child processes: they must read the same Settings as we did."""
        env = dict(os.environ)
        if self.settings_file is not None:
            env[LOCAL_SETTINGS_ENV] = str(self.settings_file.resolve())
        if self.host is not None:  # and they all name the same host, whatever their machine says
            env[HOST_ENV] = self.host
        return env

    def global_args(self) -> list[str]:
        """Global options a child ``controlroom`` process should inherit."""
        return ["--debug"] if self.debug else []


def wait_ready(child: Child, parse: Callable[[str], T | None], timeout: float) -> T:
    """The first stdout line ``parse`` accepts; a clear error if the child dies or stalls."""
    try:
        return child.wait_ready(parse, timeout)
    except NotReady as exc:
        raise ProcessError(str(exc), exc.details) from None


def stop_pid(process: psutil.Process, grace: float = STOP_GRACE_S) -> None:
    """Stop a detached process by PID: SIGTERM, wait, SIGKILL."""
    if not stop_process(process, grace):
        raise ProcessError(f"process {process.pid} did not exit even after SIGKILL")


def ready_endpoints(line: str) -> dict[str, str] | None:
    """The endpoints of a ready line ``READY {json}`` (None for other lines)."""
    try:
        ready = parse_ready_line(line)
    except ValueError:  # a READY line with broken JSON is not the one we wait for
        return None
    if ready is None:
        return None
    return {key: str(value) for key, value in ready.items() if key != "name"}


def start_detached(
    state: LocalState, kind: str, name: str, argv: Sequence[str], *, title: str, timeout: float
) -> ProcessRecord:
    """Start ``argv`` detached, wait for its ready line and record it (the caller holds
    the lock of ``kind``/``name``)."""
    log = state.files.log_path(kind, name)
    child = Child.spawn(title, argv, log_path=log, detached=True, env=state.child_env())
    ready = wait_ready(child, ready_endpoints, timeout)
    child.release()
    record = ProcessRecord.of_process(kind, name, child.pid, ready, log)
    state.files.write(record)
    return record


def start_service(
    state: LocalState, service: ServiceDefinition, timeout: float, run_args: tuple[str, ...] = ()
) -> ProcessRecord:
    """Start ``service`` detached and wait until it serves; refuse if it already runs."""
    with state.files.locked(KIND, service.name):
        running = state.files.live(KIND, service.name)
        if running is not None:
            raise ProcessError(
                f"the {service.title} is already running (pid {running.pid}, commands at "
                f"{running.endpoints.get('commands')}); `controlroom {service.group} stop` first"
            )
        return _start(state, service, timeout, run_args)


def restart_service(
    state: LocalState,
    service: ServiceDefinition,
    timeout: float,
    run_args: tuple[str, ...],
    *,
    stopped_on_purpose: Callable[[], bool],
) -> ProcessRecord | None:
    """Start ``service`` again after a crash; None if it was stopped on purpose meanwhile.

    Asked under the lock that `stop` takes too, so a `stop` (or `down`) either
    comes first and is seen here, or comes after and stops the new process.
    One already started again by someone else is taken as it is.
    """
    with state.files.locked(KIND, service.name):
        if stopped_on_purpose():
            return None
        running = state.files.live(KIND, service.name)
        if running is not None:
            return running
        return _start(state, service, timeout, run_args)


def _start(
    state: LocalState, service: ServiceDefinition, timeout: float, run_args: tuple[str, ...]
) -> ProcessRecord:
    # It reads the Settings file named in child_env().
    args = (service.name, "--handoff-stdout", *state.global_args(), *run_args)
    argv = module_argv(SERVICE_MODULE, *args)
    return start_detached(state, KIND, service.name, argv, title=service.title, timeout=timeout)


def stop_service(state: LocalState, service: ServiceDefinition) -> ProcessRecord | None:
    """Ask ``service`` to quit, then signal it; None if it was not running."""
    return stop_server(state, service.name, service.exit_wait_s)


def stop_server(state: LocalState, name: str, exit_wait_s: float) -> ProcessRecord | None:
    """Ask the detached control server ``name`` to quit, signal it if it has not exited
    within ``exit_wait_s``; None if it was not running."""
    with state.files.locked(KIND, name):
        record = state.files.live(KIND, name)
        process = record.process() if record is not None else None
        if record is None or process is None:
            return None
        try:
            with Proxy(
                record.endpoints.get("commands", ""), name=name, timeout=QUIT_TIMEOUT_S
            ) as proxy:
                proxy.quit()
        except RpcError:
            pass  # a hung server is stopped by signal instead
        if not wait_gone(process, exit_wait_s):
            stop_pid(process)
        state.files.remove(KIND, name)
    return record
