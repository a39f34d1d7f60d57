"""The core services from the command line: ``run``, ``start`` and ``stop``, one definition each.

Every core service's CLI group gets its ``run``, ``start`` and ``stop`` from
:func:`add_service_commands`, made from the service's definition
(:mod:`controlroom.processes.service`): ``run`` serves it in the foreground
with the options the definition declares and prints a ready line; ``start``
runs the same process detached (``python -m controlroom.processes.service
NAME``), waits for the ready line and records its PID and actual endpoints in
the state file ``cs-<name>.json``; ``stop`` asks it to quit and falls back to
signals. ``controlroom up`` and ``down`` use the same functions.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

import typer

from controlroom.cli import render
from controlroom.cli.context import CliState, Endpoints, cli_state, endpoints_of
from controlroom.cli.errors import CliError, reported
from controlroom.cli.spawn import READY_TIMEOUT_S, stop_pid, wait_ready
from controlroom.cli.state import ProcessRecord
from controlroom.processes.service import CORE_SERVICES, Option, ServiceDefinition, serve_service
from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.child import Child, module_argv, wait_gone
from controlroom.rpc.endpoints import connectable
from controlroom.rpc.process import parse_ready_line

KIND = "cs"  # core services are control servers: same state files as devices
QUIT_TIMEOUT_S = 2.0
SERVICE_MODULE = "controlroom.processes.service"


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
    state: CliState, service: ServiceDefinition, timeout: float, run_args: tuple[str, ...] = ()
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
    state: CliState, service: ServiceDefinition, timeout: float, run_args: tuple[str, ...]
) -> ProcessRecord:
    """Start ``service`` and write its state file (the caller holds its lock)."""
    # It reads the Settings file named in child_env().
    args = (service.name, "--handoff-stdout", *state.global_args(), *run_args)
    argv = module_argv(SERVICE_MODULE, *args)
    log = state.files.log_path(KIND, service.name)
    child = Child.spawn(service.title, argv, log_path=log, detached=True, env=state.child_env())
    ready = wait_ready(child, ready_endpoints, timeout)
    child.release()
    record = ProcessRecord.of_process(KIND, service.name, child.pid, ready, log)
    state.files.write(record)
    return record


def stop_service(state: CliState, service: ServiceDefinition) -> ProcessRecord | None:
    """Ask ``service`` to quit, then signal it; None if it was not running."""
    return stop_server(state, service.name, service.exit_wait_s)


def stop_server(state: CliState, name: str, exit_wait_s: float) -> ProcessRecord | None:
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


def service_endpoints(state: CliState, name: str) -> Endpoints:
    """Where core service ``name`` is: its state file, else the Settings."""
    record = state.files.live(KIND, name)
    if record is not None:
        return endpoints_of(record)
    service, entry = CORE_SERVICES[name], state.settings["services"][name]
    commands = str(entry["commands"])
    if commands.endswith(":0"):
        raise CliError(
            f"the {service.title} is not running: start it with `controlroom {service.group} "
            f"start` (its settings endpoint {commands} has no fixed port)"
        )
    return Endpoints(connectable(commands), connectable(str(entry["publish"])), "settings")


def ask_service(state: CliState, name: str, command: str, *args: Any) -> Any:
    """The answer of core service ``name`` to ``command``; one clear error if it does not answer."""
    endpoint = service_endpoints(state, name).commands
    try:
        with Proxy(endpoint, name=name, timeout=state.default("proxy_timeout_s", 5.0)) as proxy:
            return proxy.request(command, args)
    except RpcError as exc:
        title = CORE_SERVICES[name].title
        raise CliError(f"the {title} at {endpoint} does not answer: {exc}") from None


def say_started(service: ServiceDefinition, record: ProcessRecord) -> None:
    ends = record.endpoints
    render.say(
        f"{service.title} started (pid {record.pid}): commands {ends.get('commands')}, "
        f"publish {ends.get('publish')}; log {record.log}"
    )


def say_stopped(service: ServiceDefinition, record: ProcessRecord | None) -> None:
    if record is None:
        render.say(f"the {service.title} is not running (not started by `{service.group} start`)")
    else:
        render.say(f"{service.title} stopped (pid {record.pid})")


def add_service_commands(app: typer.Typer, name: str) -> None:
    """Give core service ``name``'s CLI group its ``run``, ``start`` and ``stop``."""
    service = CORE_SERVICES[name]
    ready = ", ".join(f'"{key}"' for key in service.ready)
    app.command(
        "run",
        help=f"Run the {service.title} in the foreground until Ctrl-C, SIGTERM or quit.\n\n"
        f"Prints one line READY {{{ready}}} (JSON) once it serves.",
    )(reported(_run_command(service)))
    app.command(
        "start", help=f"Start the {service.title} in the background and wait until it serves."
    )(reported(_start_command(service)))

    @app.command("stop", help=f"Stop the {service.title} started with `{service.group} start`.")
    @reported
    def stop_command(ctx: typer.Context) -> None:
        say_stopped(service, stop_service(cli_state(ctx), service))


def _run_command(service: ServiceDefinition) -> Callable[..., None]:
    def run_command(ctx: typer.Context, **values: Any) -> None:
        state = cli_state(ctx)
        launch = service.launch({**values, "debug": state.debug}, state.child_env())
        serve_service(service, state.settings, launch)

    handoff = _parameter("handoff_stdout", Annotated[bool, typer.Option(hidden=True)], False)
    return _with_options(run_command, service.all_options, handoff)


def _start_command(service: ServiceDefinition) -> Callable[..., None]:
    passed_on = tuple(option for option in service.options if option.on_start)

    def start_command(ctx: typer.Context, *, timeout: float, **values: Any) -> None:
        run_args = tuple(_arguments(passed_on, values))
        say_started(service, start_service(cli_state(ctx), service, timeout, run_args))

    help_text = "Seconds to wait for it to be ready."
    timeout = Annotated[float, typer.Option(min=0.1, help=help_text)]
    return _with_options(start_command, passed_on, _parameter("timeout", timeout, READY_TIMEOUT_S))


def _with_options(
    command: Callable[..., None], options: Iterable[Option], *extra: inspect.Parameter
) -> Callable[..., None]:
    """``command(ctx, **values)`` with a signature Typer reads: one parameter per option."""
    context = inspect.Parameter(
        "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
    )
    parameters = [context, *(_option_parameter(option) for option in options), *extra]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return command


def _option_parameter(option: Option) -> inspect.Parameter:
    info = typer.Option(option.flag, help=option.help, min=option.minimum)
    if option.kind is bool:
        return _parameter(option.dest, Annotated[bool, info], False)
    return _parameter(option.dest, Annotated[option.kind | None, info], None)


def _parameter(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def _arguments(options: Iterable[Option], values: Mapping[str, Any]) -> Iterable[str]:
    """The command-line arguments that give ``values`` to a service's process."""
    for option in options:
        value = values.get(option.dest)
        if value is True:
            yield option.flag
        elif value not in (None, False):
            yield from (option.flag, str(value))
