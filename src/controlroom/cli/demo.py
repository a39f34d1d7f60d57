"""``controlroom demo``: simulators and control servers as children, with a live status table.

Every process is our child, started in its own process group so that Ctrl-C
reaches only us; we then stop them by their handles, in reverse order (servers
before the simulators they talk to). Their output goes to ``demo-*.log`` files
in the state directory so it does not scribble over the table.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import reported
from controlroom.cli.options import ReadyTimeout
from controlroom.cli.sim import SimulatorEntry, launch_simulator, wait_simulator
from controlroom.devices.factory import DeviceConfigError, interface_class
from controlroom.devices.tables import table_folders
from controlroom.processes.detached import READY_TIMEOUT_S, wait_ready
from controlroom.processes.entry import signals_ignored, sigterm_interrupts
from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.child import Child, module_argv
from controlroom.rpc.follow import Publication, Subscriber
from controlroom.rpc.process import parse_ready_line

DEMO_DEVICES = ("tempctl", "dummy")
_STALE_S = 5.0  # a server silent for this long is shown as stale
_PRINT_EVERY_S = 1.0  # status lines when the output is not a terminal
_REDRAW_S = 0.25


@dataclass
class Server:
    """A control server started by the demo, and the last status it published."""

    name: str
    child: Child
    endpoints: Mapping[str, str]
    last: Publication | None = None  # set on the subscriber's thread

    @property
    def values(self) -> dict[str, Any]:
        return {} if self.last is None else self.last.values

    def age(self) -> float | None:
        """Seconds since its last status (None: none yet)."""
        return None if self.last is None else time.time() - self.last.time

    def state(self) -> Text:
        code = self.child.process.poll()
        if code is not None:
            return Text(f"exited ({code})", style="bold red")
        age = self.age()
        if age is None:
            return Text("starting", style="yellow")
        if age > _STALE_S:
            return Text("stale", style="yellow")
        return Text("up", style="bold green")


@reported
def demo(ctx: typer.Context, *, timeout: ReadyTimeout = READY_TIMEOUT_S) -> None:
    """Run the demo: simulated tempctl and dummy servers with a live status table.

    Starts the tempctl simulator, the tempctl control server on it and the dummy
    control server as child processes, shows their published status until
    Ctrl-C or SIGTERM, then stops them all. Ports come from the Settings (0:
    the OS picks); a device whose driver is not installed is skipped with a
    warning. Child logs: demo-*.log in the state directory.
    """
    state = cli_state(ctx)
    console = render.out()
    children: list[Child] = []
    with sigterm_interrupts():
        try:
            servers = [s for n in DEMO_DEVICES if (s := _start(state, n, children, timeout))]
            _watch(servers, console)
        except KeyboardInterrupt:
            pass  # the normal end of the demo
        finally:
            with signals_ignored():
                for child in reversed(children):
                    child.stop()
    render.say("demo stopped, all its processes are gone")


def _start(state: CliState, name: str, children: list[Child], timeout: float) -> Server | None:
    """Start ``name`` (its simulator first, if it has one); None if it is not installed."""
    entry = state.device(name)
    missing = _unavailable(entry, state.allowed_packages, table_folders(state.settings))
    if missing:
        render.say(Text(f"{name}: skipped, {missing}", style="yellow"))
        return None
    device_args = [name, *state.global_args()]
    if entry.get("simulator"):
        sim = SimulatorEntry.of(name, entry, state.allowed_packages)
        log = state.files.directory / f"demo-{name}-sim.log"
        child = launch_simulator(state, name, host=sim.host, port=sim.port, log_path=log)
        children.append(child)
        device_args += ["--transport", wait_simulator(child, timeout)]
        render.say(f"{name} simulator ready on {device_args[-1]}")
    argv = module_argv("controlroom.processes.device", *device_args)
    log = state.files.directory / f"demo-{name}-cs.log"
    child = Child.spawn(f"{name} control server", argv, log_path=log, env=state.child_env())
    children.append(child)
    ready = wait_ready(child, parse_ready_line, timeout)
    render.say(f"{name} control server ready: commands {ready['commands']}")
    _set_the_scene(name, ready["commands"], entry.get("demo") or [])
    return Server(name, child, ready)


def _set_the_scene(name: str, endpoint: str, steps: list[Any]) -> None:
    """Send the device's ``demo`` commands from the Settings (e.g. start a warm-up ramp)."""
    with Proxy(endpoint, name=name, timeout=5.0) as proxy:
        for step in steps:
            command, *args = step
            try:
                proxy.call(str(command), *args)
            except RpcError as exc:
                render.say(Text(f"{name}: demo step {step} failed: {exc}", style="yellow"))
                return
    if steps:
        render.say(f"{name}: {len(steps)} demo commands sent")


def _unavailable(
    entry: Mapping[str, Any], allowed: tuple[str, ...], tables: list[Path]
) -> str | None:
    """Why the device cannot run here (driver or simulator not installed), or None."""
    try:
        interface_class(entry, allowed, tables)
    except DeviceConfigError as exc:
        return str(exc)
    module = str((entry.get("simulator") or {}).get("module") or "")
    if not module:
        return None
    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:
        found = False
    return None if found else f"no simulator module {module!r}"


def _watch(servers: list[Server], console: Console) -> None:
    """Follow the servers' status until interrupted: a live table, or lines in a log."""
    with _status_subscriber(servers):
        if console.is_terminal:
            _show_live(servers, console)
        else:
            _print_lines(servers, console)


def _show_live(servers: list[Server], console: Console) -> None:
    with Live(_table(servers), console=console, refresh_per_second=4) as live:
        while True:
            time.sleep(_REDRAW_S)
            live.update(_table(servers))


def _print_lines(servers: list[Server], console: Console) -> None:
    # A live table only shows its last frame in a file or pipe; lines tell the whole story.
    while True:
        for server in servers:
            values = render.format_values(server.values)
            line = f"{server.name:<10} {server.state().plain:<10} {values}"
            console.print(Text(line), soft_wrap=True)
        time.sleep(_PRINT_EVERY_S)


def _status_subscriber(servers: list[Server]) -> Subscriber:
    by_name = {server.name: server for server in servers}

    def take(publication: Publication) -> None:
        server = by_name.get(publication.server)
        if server is not None:
            server.last = publication

    subscriber = Subscriber(name="demo-status").on("status/", take)
    subscriber.follow(server.endpoints["publish"] for server in servers)
    return subscriber


def _table(servers: list[Server]) -> Table:
    table = Table(title="controlroom demo - Ctrl-C stops it", title_justify="left")
    for column in ("device", "state", "pid", "commands", "age", "status"):
        table.add_column(column, no_wrap=column != "status")
    for server in servers:
        age = server.age()
        table.add_row(
            Text(server.name, style="bold cyan"),
            server.state(),
            str(server.child.pid),
            server.endpoints.get("commands", ""),
            "-" if age is None else f"{age:.1f} s",
            Text(render.format_values(server.values)),
        )
    return table
