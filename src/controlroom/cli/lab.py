"""``controlroom up``, ``down`` and ``status``: the whole lab with one command.

``up`` starts the process manager, which starts the core services (registry,
log manager, configuration manager, storage manager, scheduler) and then every control
server and simulator of the current Setup, each waited for by its ready line.
In the foreground, Ctrl-C or SIGTERM stops everything again; ``-d`` returns
once all are ready and leaves them running until ``down``.

Either way the process manager itself is supervised (:mod:`controlroom.processes.labwatch`): by
the foreground ``up``, or by the watcher ``up -d`` leaves behind. A crashed
process manager is started again and adopts the processes still running;
one stopped on purpose is not, so ``down`` stays down and a foreground
``up`` exits when it sees it.

On a lab of several hosts each runs ``up`` (``--host NAME`` when its machine
does not say which host of the Settings it is): it starts what the Settings
and the Setup place on that host and waits for what it needs from the others;
``down`` stops that host's processes only.
"""

from __future__ import annotations

import dataclasses
import time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from controlroom.cli import render
from controlroom.cli.confman import confman_proxy
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.ps import processes_table
from controlroom.config import ConfigError
from controlroom.config.setup import Setup
from controlroom.device.proxy import make_proxy
from controlroom.processes.detached import KIND, start_service, stop_service
from controlroom.processes.entry import signals_ignored, sigterm_interrupts
from controlroom.processes.labwatch import start_watcher, stop_watcher, supervise, watching
from controlroom.processes.service import CORE_SERVICES
from controlroom.rpc.hosts import UnknownHost, checked_host
from controlroom.services.procman.adopt import LEDGER, Ledger, stop_recorded
from controlroom.services.procman.policy import Policy
from controlroom.services.procman.stopmark import StopMark, procman_directory

HostName = Annotated[
    str | None,
    typer.Option(
        "--host",
        help="This host's name in the Settings' `hosts` (default: $CONTROLROOM_HOST, "
        "else the entry with one of this machine's addresses, else the one named after it).",
    ),
]
START_ALL_TIMEOUT_S = 300.0
SETTLE_S = 60.0  # how long a process in backoff after a failed start is waited for
SETTLE_POLL_S = 0.2
UNSETTLED = ("starting", "backoff")


@reported
def up(
    ctx: typer.Context,
    *,
    setup: Annotated[
        str | None,
        typer.Option(help="Setup to load first: an id, a YAML file, or 'demo' (the packaged one)."),
    ] = None,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Return once all are ready; `down` stops them.")
    ] = False,
    timeout: Annotated[float, typer.Option(min=1.0, help="Seconds for each to be ready.")] = 60.0,
    host: HostName = None,
) -> None:
    """Start this host's core services and control servers of the Setup; stop all on Ctrl-C."""
    state = _as_host(cli_state(ctx), host)
    me = state.host_name
    procman = CORE_SERVICES["procman"]
    started = time.monotonic()
    record = start_service(state, procman, timeout)
    try:
        processes = _bring_up(state, record.endpoints["commands"], setup)
        watcher = start_watcher(state) if detach else None
    except BaseException:
        stop_service(state, procman)
        raise
    render.out().print(processes_table(processes, f"processes of host {me}"))
    took = time.monotonic() - started
    render.say(f"all {len(processes)} processes ready in {took:.1f} s (host {me})")
    panel = next((p for p in processes if p.get("kind") == "web"), None)
    if panel is not None and (panel.get("endpoints") or {}).get("url"):
        render.say(f"web panel: {panel['endpoints']['url']}")
    if watcher is not None:
        render.say(
            f"the process manager is watched by pid {watcher.pid} (restarted if it crashes); "
            "`controlroom down` stops everything"
        )
        return
    render.say("Ctrl-C stops everything")
    reason = _supervise_here(state)
    if reason is None:
        render.say("everything stopped")
    else:
        render.say(f"the lab was stopped on purpose ({reason}), so up exits")


def _as_host(state: CliState, host: str | None) -> CliState:
    """``state`` whose children run as host ``host`` (checked against the Settings)."""
    if host is None:
        return state
    try:
        checked_host(state.settings, host, "--host")
    except UnknownHost as exc:
        raise CliError(str(exc)) from None
    return dataclasses.replace(state, host=host)


def _supervise_here(state: CliState) -> str | None:
    """Supervise the process manager until Ctrl-C or SIGTERM (None, and everything is
    stopped) or until it is stopped on purpose elsewhere (why it was)."""
    with sigterm_interrupts(), watching(state):
        try:
            return supervise(state, render.say)
        except KeyboardInterrupt:
            return None  # the normal end of a foreground `up`
        finally:
            with signals_ignored():
                stop_service(state, CORE_SERVICES["procman"])


def _bring_up(state: CliState, endpoint: str, setup: str | None) -> list[dict[str, Any]]:
    from controlroom.services.procman.server import ProcessManager

    manager: Any = make_proxy(ProcessManager, endpoint, timeout=START_ALL_TIMEOUT_S)
    with manager:
        here = {process["name"] for process in manager.list_processes()}
        if "web" in here:  # the panel needs nothing: it starts first
            manager.start("web", False)
        if setup is not None:
            # Loaded before the rest starts, since it names the control servers; the
            # others then start in parallel waves (confman needs none of them). The
            # configuration manager of another host is found through the Settings.
            if "confman" in here:
                manager.start("confman")
            _use_setup(state, setup)
        return _settled(manager, list(manager.start_all()))


def _settled(manager: Any, processes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The processes once none is restarting: one that failed its first start (a port
    taken for a moment, say) is waited for while the process manager retries it."""
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline and any(p["state"] in UNSETTLED for p in processes):
        time.sleep(SETTLE_POLL_S)  # polls the process manager's own state, not a guess
        processes = list(manager.list_processes())
    return processes


def _use_setup(state: CliState, setup: str) -> None:
    """Make ``setup`` current: load an id, or submit and load a YAML file."""
    with confman_proxy(state) as confman:
        if setup.isdigit():
            confman.load_setup(int(setup))
            return
        path = _setup_path(setup)
        try:
            content = Setup.from_yaml_file(path).to_dict()
        except ConfigError as exc:
            raise CliError(str(exc)) from None
        confman.load_setup(confman.submit_setup(content, f"controlroom up --setup {setup}"))


def _setup_path(setup: str) -> Path:
    if setup == "demo":
        return Path(str(resources.files("controlroom.config").joinpath("setups/demo.yaml")))
    path = Path(setup)
    if not path.is_file():
        raise CliError(f"--setup {setup!r} is neither a Setup id, a YAML file nor 'demo'")
    return path


@reported
def down(ctx: typer.Context, *, host: HostName = None) -> None:
    """Stop everything `up` started on this host, in reverse order, and whoever watches
    the process manager."""
    state = _as_host(cli_state(ctx), host)
    procman = CORE_SERVICES["procman"]
    with state.files.locked(KIND, procman.name):
        # Under the lock a watcher restarts under: it either sees this or is stopped below.
        StopMark.of(state.settings, state.host_name).set("controlroom down")
    record = stop_service(state, procman)
    left = _stop_left_behind(state) if record is None else []
    watcher = stop_watcher(state)
    watched = f"; its watcher (pid {watcher.pid}) ended" if watcher is not None else ""
    if record is not None:
        render.say(f"everything stopped (process manager pid {record.pid}{watched})")
    elif left:
        render.say(
            "everything stopped: the process manager was not running; "
            f"stopped what it had left running: {', '.join(left)}{watched}"
        )
    else:
        render.say(f"nothing to stop: the process manager is not running{watched}")


def _stop_left_behind(state: CliState) -> list[str]:
    """Stop the processes a killed process manager left running (nobody restarted it)."""
    with state.files.locked(KIND, CORE_SERVICES["procman"].name):
        if state.files.live(KIND, CORE_SERVICES["procman"].name) is not None:
            return []  # one was started meanwhile: it stops its own
        ledger = Ledger(procman_directory(state.settings, state.host_name) / LEDGER)
        return stop_recorded(ledger, Policy.from_settings(state.settings).stop_timeout_s)
