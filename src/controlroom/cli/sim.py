"""``controlroom sim``: run a device's simulator, in the foreground or detached.

The simulator is ``python -m <simulator.module> --host H --port P [--speed S]``
from the device's Settings entry; it prints ``READY <host> <port>`` once it
listens, which is how we learn the port when the Settings say 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from controlroom.cli import render
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import DeviceName, ListenHost, ListenPort
from controlroom.config.importing import DEFAULT_ALLOWED_PACKAGES, may_name_module
from controlroom.device.simkit.server import parse_ready_line
from controlroom.processes.detached import READY_TIMEOUT_S, stop_pid, wait_ready
from controlroom.processes.entry import signals_ignored, sigterm_interrupts
from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc.child import Child, module_argv

sim_app = typer.Typer(help="Run device simulators (stand-ins for the hardware).")

# Simulators known by another name than their device's: the camera's FEE is the
# simulator of the `dpu` device entry (`sim start dpu`), and `sim start fee` runs one
# on a port of its own for scripts and tests. A device entry named `fee` takes precedence.
STANDALONE_SIMULATORS: dict[str, dict[str, Any]] = {
    "fee": {"module": "controlroom.devices.camera.sim.server", "host": "127.0.0.1", "port": 0},
}


@dataclass(frozen=True)
class SimulatorEntry:
    """The ``simulator`` part of a device's Settings entry."""

    module: str
    host: str
    port: int
    args: tuple[str, ...] = ()  # given to the module before --host and --port

    @classmethod
    def of(
        cls,
        name: str,
        entry: Mapping[str, Any],
        allowed: tuple[str, ...] = DEFAULT_ALLOWED_PACKAGES,
    ) -> SimulatorEntry:
        sim = entry.get("simulator") or {}
        module = str(sim.get("module") or "")
        if not module:
            raise CliError(f"{name} has no simulator in the settings")
        # Same rule as for controllers: the Settings may only name shipped device packages.
        if not may_name_module(module, allowed):
            raise CliError(f"simulator module {module!r} is not in {', '.join(allowed)}")
        args = tuple(str(arg) for arg in sim.get("args") or ())
        host = str(sim.get("host") or "127.0.0.1")
        return cls(module, host, int(sim.get("port") or 0), args)


def simulator_settings(state: CliState, name: str) -> dict[str, Any]:
    """The Settings entry of device ``name``, or the entry of a standalone simulator."""
    devices = state.settings.get("devices") or {}
    if name not in devices and name in STANDALONE_SIMULATORS:
        return {"simulator": dict(STANDALONE_SIMULATORS[name])}
    return state.device(name)  # a clear error lists the known devices


def launch_simulator(
    state: CliState,
    name: str,
    *,
    host: str,
    port: int,
    speed: float | None = None,
    detached: bool = False,
    log_path: Path | None = None,
) -> Child:
    """Start ``name``'s simulator; :func:`wait_simulator` then waits until it listens."""
    sim = SimulatorEntry.of(name, simulator_settings(state, name), state.allowed_packages)
    argv = module_argv(sim.module, *sim.args, "--host", host, "--port", str(port))
    if speed is not None:
        argv += ["--speed", f"{speed:g}"]
    what = f"{name} simulator"
    return Child.spawn(what, argv, log_path=log_path, detached=detached, env=state.child_env())


def wait_simulator(child: Child, timeout: float = READY_TIMEOUT_S) -> str:
    """The transport URL of a launched simulator, once it listens."""
    host, port = wait_ready(child, parse_ready_line, timeout)
    return f"tcp://{host}:{port}"


@sim_app.command("start")
@reported
def start(
    ctx: typer.Context,
    *,
    name: DeviceName,
    host: ListenHost = None,
    port: ListenPort = None,
    speed: Annotated[
        float | None, typer.Option(min=0.001, help="Simulated time runs this many times faster.")
    ] = None,
    detach: Annotated[
        bool, typer.Option("--detach", help="Run in the background and return once it listens.")
    ] = False,
) -> None:
    """Run the simulator of device NAME (or `fee`, the camera front end); Ctrl-C stops it.

    With --detach it runs in the background until `controlroom sim stop NAME`.
    """
    state = cli_state(ctx)
    sim = SimulatorEntry.of(name, simulator_settings(state, name), state.allowed_packages)
    host, port = host or sim.host, sim.port if port is None else port
    if not detach:
        _run_foreground(state, name, host=host, port=port, speed=speed)
        return
    with state.files.locked("sim", name):
        running = state.files.live("sim", name)
        if running is not None:
            where = running.endpoints.get("transport", "?")
            raise CliError(f"the {name} simulator is already running (pid {running.pid}, {where})")
        log = state.files.log_path("sim", name)
        child = launch_simulator(
            state, name, host=host, port=port, speed=speed, detached=True, log_path=log
        )
        url = wait_simulator(child)
        child.release()
        endpoints = {"transport": url}
        record = ProcessRecord.of_process("sim", name, child.pid, endpoints, child.log_path)
        state.files.write(record)
    render.say(f"{name} simulator listening on {url} (pid {child.pid}, log {record.log})")


def _run_foreground(
    state: CliState, name: str, *, host: str, port: int, speed: float | None
) -> None:
    with sigterm_interrupts():
        child = launch_simulator(state, name, host=host, port=port, speed=speed)
        try:
            url = wait_simulator(child)
            render.say(f"{name} simulator listening on {url}; Ctrl-C stops it")
            code = child.process.wait()
            if code != 0:
                raise CliError(f"the {name} simulator exited with code {code}")
        except KeyboardInterrupt:
            pass  # the normal way to stop a foreground simulator
        finally:
            with signals_ignored():
                child.stop()


@sim_app.command("stop")
@reported
def stop(ctx: typer.Context, name: DeviceName) -> None:
    """Stop the simulator of device NAME started with --detach (SIGTERM, then SIGKILL)."""
    state = cli_state(ctx)
    # A device without simulator: say so.
    SimulatorEntry.of(name, simulator_settings(state, name), state.allowed_packages)
    with state.files.locked("sim", name):
        record = state.files.live("sim", name)
        process = record.process() if record is not None else None
        if record is None or process is None:
            render.say(f"the {name} simulator is not running")
            return
        stop_pid(process)
        state.files.remove("sim", name)
    render.say(f"{name} simulator stopped (pid {record.pid})")


def simulator_transport(state: CliState, name: str, entry: Mapping[str, Any]) -> str:
    """Where ``name``'s simulator listens: its state file if detached, else the Settings."""
    record = state.files.live("sim", name)
    if record is not None and record.endpoints.get("transport"):
        return record.endpoints["transport"]
    sim = SimulatorEntry.of(name, entry, state.allowed_packages)
    if sim.port == 0:
        raise CliError(
            f"the {name} simulator is not running and its settings port is 0; "
            f"start it with `controlroom sim start {name} --detach` first"
        )
    return f"tcp://{sim.host}:{sim.port}"
