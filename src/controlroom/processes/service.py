"""The core services as processes: one definition each, for ``python -m`` and the CLI alike.

``python -m controlroom.processes.service NAME [--endpoint E] [--pub-endpoint E] ...``
runs core service NAME the way the process manager starts it; ``controlroom
<group> run`` serves the same process in the foreground, and the CLI makes
that group's ``run``, ``start`` and ``stop`` from the same definition
(:mod:`controlroom.cli.services`). A service package only builds its server
from the Settings; its definition here says how, which options its process
takes and which links to the other core services it gets (:mod:`.links`);
the scheduler and the scenarios service get the runner that opens
observations (:mod:`.jobs`). Each service is imported when it is built, so a
process holds only the one it serves.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from controlroom.config.settings import load_settings
from controlroom.processes.entry import (
    common_options,
    configure_logging,
    failures_in_one_line,
    log_level,
    ready_stream,
)
from controlroom.processes.links import (
    CENTRAL_LOGS,
    JOURNAL,
    METRICS,
    REGISTRATION,
    service_links,
)
from controlroom.rpc import ControlServer
from controlroom.rpc.curve import secure_process
from controlroom.rpc.endpoints import ServerEndpoints
from controlroom.rpc.process import serve_until_signalled

SERVER_READY = ("name", "commands", "publish")


@dataclass(frozen=True)
class Option:
    """An option of a service's process; the CLI's ``run`` takes the same."""

    flag: str
    help: str
    kind: type[str] | type[float] | type[bool] | type[Path] = str  # bool: a flag
    minimum: float | None = None
    on_start: bool = False  # `<group> start` takes it too and passes it on

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


ENDPOINT_OPTIONS = (
    Option("--endpoint", "Command endpoint to bind (default: Settings)."),
    Option("--pub-endpoint", "Publish endpoint to bind (default: Settings)."),
)


@dataclass(frozen=True)
class Launch:
    """What one run of a service was given: endpoints, options, flags, its children's env."""

    endpoint: str | None = None
    pub_endpoint: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    debug: bool = False
    handoff_stdout: bool = False
    child_env: Mapping[str, str] | None = None  # None: ours

    @property
    def endpoints(self) -> ServerEndpoints:
        return {"endpoint": self.endpoint, "pub_endpoint": self.pub_endpoint}


@dataclass(frozen=True)
class Served:
    """A built service: its server, and how it serves (start, ready line, until stopped)."""

    server: ControlServer
    serve: Callable[[TextIO], None]


def served(server: ControlServer) -> Served:
    """A service served like any control server."""
    return Served(server, functools.partial(serve_until_signalled, server))


@dataclass(frozen=True)
class ServiceDefinition:
    """One core service: how its process is built, what it takes, what it links to."""

    name: str  # its Settings key (services.<name>), process name and state file cs-<name>.json
    title: str
    group: str  # its CLI group
    build: Callable[[Mapping[str, Any], Launch], Served]
    options: tuple[Option, ...] = ()
    links: tuple[str, ...] = (CENTRAL_LOGS, REGISTRATION, METRICS, JOURNAL)
    ready: tuple[str, ...] = SERVER_READY  # the keys of its ready line
    exit_wait_s: float = 5.0  # after `quit`, before signals

    @property
    def all_options(self) -> tuple[Option, ...]:
        return (*ENDPOINT_OPTIONS, *self.options)

    def launch(
        self, values: Mapping[str, Any], child_env: Mapping[str, str] | None = None
    ) -> Launch:
        """The launch that parsed option ``values`` (by :attr:`Option.dest`) ask for."""
        return Launch(
            endpoint=values.get("endpoint"),
            pub_endpoint=values.get("pub_endpoint"),
            options={option.dest: values.get(option.dest) for option in self.options},
            debug=bool(values.get("debug")),
            handoff_stdout=bool(values.get("handoff_stdout")),
            child_env=child_env,
        )


def _registry(settings: Mapping[str, Any], launch: Launch) -> Served:
    from controlroom.services.registry.server import build_server

    return served(build_server(settings, **launch.endpoints, ttl_s=launch.options["ttl"]))


def _logman(settings: Mapping[str, Any], launch: Launch) -> Served:
    from controlroom.services.logs.server import build_manager, build_server, serve

    manager = build_manager(
        settings,
        records_endpoint=launch.options["records_endpoint"],
        directory=launch.options["directory"],
    )
    server = build_server(settings, manager, **launch.endpoints)
    return Served(server, functools.partial(serve, server, manager))


def _confman(settings: Mapping[str, Any], launch: Launch) -> Served:
    from controlroom.services.confman.server import build_server

    return served(build_server(settings, **launch.endpoints))


def _storage(settings: Mapping[str, Any], launch: Launch) -> Served:
    from controlroom.services.storage.server import build_server

    return served(build_server(settings, **launch.endpoints))


def _scheduler(settings: Mapping[str, Any], launch: Launch) -> Served:
    from controlroom.processes.jobs import run_in_observation
    from controlroom.services.scheduler.server import build_server

    confman = launch.options["confman"]
    return served(
        build_server(settings, runner=run_in_observation, confman=confman, **launch.endpoints)
    )


def _scenarios(settings: Mapping[str, Any], launch: Launch) -> Served:
    from controlroom.processes.jobs import run_in_observation
    from controlroom.services.scenarios.server import build_server

    confman = launch.options["confman"]
    return served(
        build_server(settings, runner=run_in_observation, confman=confman, **launch.endpoints)
    )


def _procman(settings: Mapping[str, Any], launch: Launch) -> Served:
    from controlroom.processes.preload import preload_modules
    from controlroom.services.procman.server import build_manager, build_server, serve

    preload = preload_modules(settings)
    manager = build_manager(settings, env=launch.child_env, preload=preload)
    server = build_server(settings, manager, **launch.endpoints)
    start_all = bool(launch.options["start_all"])
    return Served(
        server, lambda stream: serve(server, manager, start_all=start_all, ready_stream=stream)
    )


CONFMAN_OPTION = Option("--confman", "Configuration manager endpoint (default: Settings).")
CORE_SERVICES: dict[str, ServiceDefinition] = {
    s.name: s
    for s in (  # in start order
        ServiceDefinition(
            "registry",
            "registry",
            "registry",
            _registry,
            options=(Option("--ttl", "Seconds without heartbeat before a drop.", float, 0.01),),
            links=(CENTRAL_LOGS, METRICS, JOURNAL),  # it does not register with itself
        ),
        ServiceDefinition(
            "logman",
            "log manager",
            "logs",
            _logman,
            options=(
                Option("--records-endpoint", "Endpoint to bind for records (default: Settings)."),
                Option("--directory", "Log directory (default: Settings).", Path),
            ),
            links=(REGISTRATION, METRICS, JOURNAL),  # it sends no records to itself
            ready=(*SERVER_READY, "records"),
        ),
        ServiceDefinition("confman", "configuration manager", "confman", _confman),
        ServiceDefinition("storage", "storage manager", "storage", _storage, exit_wait_s=10.0),
        ServiceDefinition(
            "scheduler", "scheduler", "scheduler", _scheduler, options=(CONFMAN_OPTION,)
        ),
        ServiceDefinition(
            "scenarios", "scenarios service", "scenarios", _scenarios, options=(CONFMAN_OPTION,)
        ),
        ServiceDefinition(
            "procman",
            "process manager",
            "procman",
            _procman,
            options=(
                Option(
                    "--start-all",
                    "Start the services and the Setup's processes.",
                    bool,
                    on_start=True,
                ),
            ),
            exit_wait_s=30.0,  # it stops every process it runs before it exits
        ),
    )
}


def serve_service(service: ServiceDefinition, settings: Mapping[str, Any], launch: Launch) -> None:
    """Build ``service``, link it to the others, serve until SIGINT, SIGTERM or ``quit``."""
    level = log_level(launch.debug)
    configure_logging(level)
    built = service.build(settings, launch)
    with service_links(built.server, settings, links=service.links, level=level):
        built.serve(ready_stream(launch.handoff_stdout))


def add_arguments(parser: argparse.ArgumentParser, options: tuple[Option, ...]) -> None:
    for option in options:
        if option.kind is bool:
            parser.add_argument(option.flag, action="store_true", help=option.help)
        else:
            parser.add_argument(option.flag, type=option.kind, help=option.help)


def main(argv: list[str] | None = None) -> None:
    """Run the core service named first in ``argv``; ready line first."""
    parser = argparse.ArgumentParser(description="A controlroom core service.")
    names = parser.add_subparsers(dest="service", required=True, metavar="NAME")
    common = common_options()
    for service in CORE_SERVICES.values():
        add_arguments(names.add_parser(service.name, parents=[common]), service.all_options)
    args = parser.parse_args(argv)
    service = CORE_SERVICES[args.service]
    with failures_in_one_line(args.debug):
        settings = load_settings()
        secure_process(settings)
        serve_service(service, settings, service.launch(vars(args)))


if __name__ == "__main__":
    main()
