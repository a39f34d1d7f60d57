"""The core services from the command line: ``run``, ``start`` and ``stop``, one definition each.

Every core service's CLI group gets its ``run``, ``start`` and ``stop`` from
:func:`add_service_commands`, made from the service's definition
(:mod:`controlroom.processes.service`): ``run`` serves it in the foreground
with the options the definition declares and prints a ready line; ``start``
runs the same process detached and ``stop`` stops it
(:mod:`controlroom.processes.detached`, which ``controlroom up`` and ``down``
use too). A started service's PID and actual endpoints are in the state file
``cs-<name>.json``, its output in ``cs-<name>.log``; the group's other
commands find it there, else at the Settings' ``services.<name>`` endpoints
(:func:`service_endpoints`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

import typer

from controlroom.cli import render
from controlroom.cli.context import CliState, Endpoints, cli_state, endpoints_of
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import Handoff, ReadyTimeout, keyword, with_parameters
from controlroom.processes.detached import KIND, READY_TIMEOUT_S, start_service, stop_service
from controlroom.processes.service import CORE_SERVICES, Option, ServiceDefinition, serve_service
from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.endpoints import connectable


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

    handoff = keyword("handoff_stdout", Handoff, False)
    return with_parameters(run_command, *_parameters(service.all_options), handoff)


def _start_command(service: ServiceDefinition) -> Callable[..., None]:
    passed_on = tuple(option for option in service.options if option.on_start)

    def start_command(ctx: typer.Context, *, timeout: float, **values: Any) -> None:
        run_args = tuple(_arguments(passed_on, values))
        say_started(service, start_service(cli_state(ctx), service, timeout, run_args))

    timeout = keyword("timeout", ReadyTimeout, READY_TIMEOUT_S)
    return with_parameters(start_command, *_parameters(passed_on), timeout)


def _parameters(options: Iterable[Option]) -> Iterable[inspect.Parameter]:
    """One command parameter per option of a service's process."""
    for option in options:
        info = typer.Option(option.flag, help=option.help, min=option.minimum)
        if option.kind is bool:
            yield keyword(option.dest, Annotated[bool, info], False)
        else:
            yield keyword(option.dest, Annotated[option.kind | None, info])


def _arguments(options: Iterable[Option], values: Mapping[str, Any]) -> Iterable[str]:
    """The command-line arguments that give ``values`` to a service's process."""
    for option in options:
        value = values.get(option.dest)
        if value is True:
            yield option.flag
        elif value not in (None, False):
            yield from (option.flag, str(value))
