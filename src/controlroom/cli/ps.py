"""``controlroom ps`` and ``controlroom procman run|start|stop``: the process manager.

``procman start`` detaches it like ``confman start`` does the configuration
manager: PID and actual endpoints in the state file ``cs-procman.json``, its
output in ``cs-procman.log`` (the logs of its children are in
``<state>/procman/``). ``ps`` and ``cs start|stop`` find it there, else at the
Settings' ``services.procman`` endpoints; ``ps --host NAME`` asks the
registry for host NAME's (``procman@NAME``). Started this way nothing restarts it
if it is killed (``down`` then stops what it left running); ``up`` and ``up -d``
supervise it (see :mod:`controlroom.processes.labwatch`).
"""

from __future__ import annotations

import socket
import time
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import JsonOutput
from controlroom.cli.services import add_service_commands
from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.rpc.resolve import registry_endpoint_of
from controlroom.services.procman.managers import managers_of, reachable_from, registry_entries

KIND, NAME = "cs", "procman"
PROBE_S = 0.5  # how long `cs start|stop` waits to learn whether a process manager runs
LONG_S = 300.0  # start and stop wait for processes: at most their ready and stop timeouts

procman_app = typer.Typer(help="Run, start and stop the process manager (it runs the rest).")
add_service_commands(procman_app, NAME)


HostOption = Annotated[
    str | None,
    typer.Option("--host", help="Ask this host's process manager (default: this host's)."),
]


@reported
def ps(ctx: typer.Context, *, host: HostOption = None, as_json: JsonOutput = False) -> None:
    """List the processes of a host's process manager: state, PID, restarts, last exit."""
    state = cli_state(ctx)
    me = host_of_here(state)
    chosen = host or me
    endpoint = procman_endpoint(state) if chosen == me else remote_procman(state, chosen, me)
    if endpoint is None or not listening(endpoint):
        where = f" at {endpoint}" if endpoint else ""
        raise CliError(f"no process manager runs{where}: `controlroom procman start`")
    try:
        with Proxy(endpoint, name=NAME, timeout=state.default("proxy_timeout_s", 5.0)) as proxy:
            processes: list[dict[str, Any]] = proxy.request("list_processes")
    except RpcError as exc:
        raise CliError(f"the process manager at {endpoint} does not answer: {exc}") from None
    if as_json:
        render.print_json(processes)
    else:
        render.out().print(processes_table(processes, f"processes of host {chosen}"))


def host_of_here(state: CliState) -> str:
    """This host's name in the Settings' ``hosts``; a clear error for a wrong CONTROLROOM_HOST."""
    return state.host_name


def remote_procman(state: CliState, host: str, me: str) -> str:
    """Where host ``host``'s process manager answers, from the registry."""
    registry = registry_endpoint_of(state.settings)
    entries = registry_entries(state.settings, timeout=PROBE_S * 4)
    if entries is None:
        raise CliError(f"the registry at {registry} does not answer: it knows the other hosts")
    entry = managers_of(entries).get(host)
    if entry is None:
        hosts = ", ".join(sorted(managers_of(entries))) or "none"
        raise CliError(
            f"no process manager of host {host!r} is registered with the registry at {registry} "
            f"(hosts with one: {hosts})",
            [f"`controlroom up --host {host}` on that host starts one"],
        )
    endpoint = str((entry.get("endpoints") or {}).get("commands") or "")
    if not reachable_from(state.settings, endpoint, host, me):
        raise CliError(
            f"the process manager of host {host!r} listens on {endpoint}, "
            "which cannot be reached from here",
            ["give services.procman.commands a wildcard or host address (tcp://0.0.0.0:6040)"],
        )
    return endpoint


def processes_table(processes: list[dict[str, Any]], title: str = "processes") -> Table:
    """One row per process; the last stderr line of one that exited."""
    table = Table(title=title, title_justify="left")
    for column in ("name", "kind", "state", "pid", "restarts", "exit", "uptime", "address"):
        table.add_column(column, no_wrap=True)
    table.add_column("last stderr")
    styles = {"running": "green", "failed": "bold red", "backoff": "yellow", "starting": "cyan"}
    now = time.time()
    for process in processes:
        running = process.get("state") == "running" and process.get("started")
        ends = process.get("endpoints") or {}
        tail = process.get("last_stderr") or []
        cells = (
            process.get("name"),
            process.get("kind"),
            Text(str(process.get("state")), style=styles.get(str(process.get("state")), "")),
            process.get("pid") or "-",
            process.get("restarts", 0),
            "-" if process.get("exit_code") is None else process["exit_code"],
            render.duration(now - float(process["started"])) if running else "-",
            ends.get("commands") or ends.get("transport") or ends.get("url") or "-",
            tail[-1] if tail and process.get("exit_code") not in (None, 0) else "",
        )
        table.add_row(*(c if isinstance(c, Text) else Text(str(c)) for c in cells))
    return table


def procman_endpoint(state: CliState) -> str | None:
    """Where the process manager is: its state file, else the Settings (None: nowhere)."""
    record = state.files.live(KIND, NAME)
    if record is not None:
        return record.endpoints.get("commands") or None
    commands = str(state.settings["services"][NAME]["commands"])
    return None if commands.endswith(":0") else connectable(commands)


def listening(endpoint: str) -> bool:
    """Whether something accepts connections at a tcp ``endpoint`` (others: assumed so).

    A refused connection answers at once, where a ping would wait for its timeout.
    """
    scheme, _, rest = endpoint.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme != "tcp" or not port.isdigit():
        return True
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_S):
            return True
    except OSError:
        return False


def procman_cs(state: CliState, action: str, name: str, *, sim: bool = False) -> bool:
    """``cs start|stop NAME`` through a running process manager that manages NAME.

    False (nothing done) when no process manager answers or it does not
    manage NAME: the caller then starts or stops the server itself.
    """
    endpoint = procman_endpoint(state)
    if endpoint is None or not listening(endpoint):
        return False
    with Proxy(endpoint, name=NAME, timeout=LONG_S) as proxy:
        if not proxy.is_alive(PROBE_S):
            return False
        processes = proxy.request("list_processes", timeout=PROBE_S * 4)
        known = {p["name"]: p for p in processes if p.get("kind") == "device"}
        if name not in known:
            return False
        process: dict[str, Any] = proxy.request(action, (name,))
    how = "simulated" if process.get("simulated") else "hardware"
    if action == "stop":
        render.say(f"{name} control server stopped by the process manager")
        return True
    note = f" ({how}, as the Setup says)" if sim != bool(process.get("simulated")) else ""
    if process.get("state") != "running":
        raise CliError(
            f"{name} did not start: {process.get('state')}, exit code {process.get('exit_code')}",
            process.get("last_stderr") or [],
        )
    render.say(
        f"{name} control server started by the process manager{note} (pid {process['pid']}): "
        f"commands {process['endpoints'].get('commands')}; log {process.get('log')}"
    )
    return True
