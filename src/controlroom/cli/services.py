"""The core services as detached processes: start, stop, find.

Every core service has a CLI group with ``run`` (foreground, prints a ready
line); ``start`` runs that detached, waits for the ready line and records its
PID and actual endpoints in the state file ``cs-<name>.json``; ``stop`` asks
it to quit and falls back to signals. ``controlroom up`` and ``down`` use the
same functions for the whole set.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from controlroom.cli import render
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.spawn import (
    READY_TIMEOUT_S,
    module_argv,
    spawn,
    stop_pid,
    wait_gone,
    wait_ready,
)
from controlroom.cli.state import ProcessRecord
from controlroom.rpc import ControlServer, Proxy, RpcError
from controlroom.rpc.process import ReadyThenLog, parse_ready_line

KIND = "cs"  # core services are control servers: same state files as devices
QUIT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class CoreService:
    """One core service: its Settings key (also its state file name) and CLI group."""

    name: str
    title: str
    group: str
    exit_wait_s: float = 5.0
    # Started as `python -m module` rather than through the CLI: sooner, and lighter.
    module: str = ""


CORE_SERVICES: dict[str, CoreService] = {
    s.name: s
    for s in (
        CoreService("registry", "registry", "registry"),
        CoreService("logman", "log manager", "logs"),
        CoreService("confman", "configuration manager", "confman"),
        CoreService("storage", "storage manager", "storage", exit_wait_s=10.0),
        CoreService("scheduler", "scheduler", "scheduler"),
        CoreService("scenarios", "scenarios service", "scenarios"),
        # It stops every process it runs before it exits.
        CoreService(
            "procman",
            "process manager",
            "procman",
            exit_wait_s=30.0,
            module="controlroom.services.procman.server",
        ),
    )
}
START_ORDER = ("registry", "logman", "confman", "storage", "scheduler", "scenarios", "procman")


def ready_endpoints(line: str) -> dict[str, str] | None:
    """The endpoints of a service's ready line (None for other lines)."""
    try:
        ready = parse_ready_line(line)
    except ValueError:  # a READY line with broken JSON is not the one we wait for
        return None
    if ready is None:
        return None
    return {key: str(value) for key, value in ready.items() if key != "name"}


def start_service(
    state: CliState, service: CoreService, timeout: float, run_args: tuple[str, ...] = ()
) -> ProcessRecord:
    """Start ``service`` detached and wait until it serves; refuse if it already runs."""
    with state.files.locked(KIND, service.name):
        running = state.files.live(KIND, service.name)
        if running is not None:
            raise CliError(
                f"the {service.title} is already running (pid {running.pid}, commands at "
                f"{running.endpoints.get('commands')}); `controlroom {service.group} stop` first"
            )
        return _start(state, service, timeout, run_args)


def restart_service(
    state: CliState,
    service: CoreService,
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
    state: CliState, service: CoreService, timeout: float, run_args: tuple[str, ...]
) -> ProcessRecord:
    """Start ``service`` and write its state file (the caller holds its lock)."""
    if service.module:  # it reads the Settings file named in child_env()
        argv = module_argv(service.module, "--handoff-stdout", *run_args)
    else:
        args = [*state.global_args(), service.group, "run", "--handoff-stdout", *run_args]
        argv = module_argv("controlroom.cli.main", *args)
    log = state.files.log_path(KIND, service.name)
    child = spawn(service.title, argv, log_path=log, detached=True, env=state.child_env())
    ready = wait_ready(child, ready_endpoints, timeout)
    child.release()
    record = ProcessRecord.of_process(KIND, service.name, child.pid, ready, log)
    state.files.write(record)
    return record


def stop_service(state: CliState, service: CoreService) -> ProcessRecord | None:
    """Ask ``service`` to quit, then signal it; None if it was not running."""
    with state.files.locked(KIND, service.name):
        record = state.files.live(KIND, service.name)
        process = record.process() if record is not None else None
        if record is None or process is None:
            return None
        try:
            with Proxy(record.endpoints.get("commands", ""), timeout=QUIT_TIMEOUT_S) as proxy:
                proxy.quit()
        except RpcError:
            pass  # a hung service is stopped by signal instead
        if not wait_gone(process, service.exit_wait_s):
            stop_pid(process)
        state.files.remove(KIND, service.name)
    return record


def service_record(state: CliState, name: str) -> ProcessRecord | None:
    """The live state record of core service ``name`` (None when not started here)."""
    return state.files.live(KIND, name)


def say_started(service: CoreService, record: ProcessRecord) -> None:
    ends = record.endpoints
    render.say(
        f"{service.title} started (pid {record.pid}): commands {ends.get('commands')}, "
        f"publish {ends.get('publish')}; log {record.log}"
    )


def say_stopped(service: CoreService, record: ProcessRecord | None) -> None:
    if record is None:
        render.say(f"the {service.title} is not running (not started by `{service.group} start`)")
    else:
        render.say(f"{service.title} stopped (pid {record.pid})")


def attached_to(server: ControlServer, state: CliState, name: str) -> Any:
    """Central logs, registration and metrics for core service ``name`` while it serves
    (a context manager; see :func:`controlroom.services.attach.service_attachments`)."""
    from controlroom.services.attach import service_attachments

    level = logging.DEBUG if state.debug else logging.INFO
    return service_attachments(server, state.settings, name, level=level)


def add_start_stop(app: typer.Typer, name: str, *, start: bool = True) -> None:
    """Give a service's CLI group its ``start`` and ``stop`` commands (one definition for all)."""
    service = CORE_SERVICES[name]
    if start:

        @app.command(
            "start", help=f"Start the {service.title} in the background and wait until it serves."
        )
        @reported
        def start_command(
            ctx: typer.Context,
            *,
            timeout: Annotated[
                float, typer.Option(min=0.1, help="Seconds to wait for it to be ready.")
            ] = READY_TIMEOUT_S,
        ) -> None:
            say_started(service, start_service(cli_state(ctx), service, timeout))

    @app.command("stop", help=f"Stop the {service.title} started with `{service.group} start`.")
    @reported
    def stop_command(ctx: typer.Context) -> None:
        say_stopped(service, stop_service(cli_state(ctx), service))


def add_job_run(app: typer.Typer, name: str) -> None:
    """Give a job service's CLI group (scheduler, scenarios) its ``run`` command."""
    service = CORE_SERVICES[name]

    @app.command(
        "run",
        help=f"Run the {service.title} in the foreground until Ctrl-C, SIGTERM or quit.\n\n"
        'Prints one line READY {"name", "commands", "publish"} (JSON) once it serves.',
    )
    @reported
    def run_command(
        ctx: typer.Context,
        *,
        endpoint: Annotated[str | None, typer.Option(help="Command endpoint to bind.")] = None,
        pub_endpoint: Annotated[str | None, typer.Option(help="Publish endpoint to bind.")] = None,
        confman: Annotated[
            str | None, typer.Option(help="Configuration manager endpoint (default: Settings).")
        ] = None,
        handoff_stdout: Annotated[bool, typer.Option(hidden=True)] = False,
    ) -> None:
        from controlroom.cli.jobserver import JOB_SERVICES

        module_name, runner = JOB_SERVICES[name]
        state = cli_state(ctx)
        logging.basicConfig(
            level=logging.DEBUG if state.debug else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        importlib.import_module(module_name).serve(
            state.settings,
            runner=runner,
            ready_stream=ReadyThenLog() if handoff_stdout else sys.stdout,
            endpoint=endpoint,
            pub_endpoint=pub_endpoint,
            confman=confman,
        )
