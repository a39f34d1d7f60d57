"""``controlroom systemd DIR``: unit files for a production host, one per process spec.

The units run exactly the argv the process manager would (the same specs,
from the Settings and a Setup), with systemd as the supervisor: restart on
failure after ``backoff_s``, at most ``max_restarts`` restarts within
``stable_s``, ``After=`` the processes each one needs. ``controlroom.target``
pulls them all in: copy the files to ``/etc/systemd/system``, then
``systemctl daemon-reload && systemctl enable --now controlroom.target``.

There is no process manager among them: systemd supervises every process
itself, and PID 1 is supervised by nobody. ``Restart=on-failure`` restarts a
crash (a non-zero exit, SIGKILL, a core dump), never a clean stop (exit 0, or
SIGTERM), so ``systemctl stop controlroom.target`` stays stopped, as
``controlroom down`` does.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from controlroom.cli import render
from controlroom.cli.confman import confman_proxy
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.config.settings import LOCAL_SETTINGS_ENV
from controlroom.config.setup import Setup
from controlroom.processes.entry import ProcessError
from controlroom.rpc import RpcError
from controlroom.services.procman.errors import SpecError
from controlroom.services.procman.hosts import is_local, local_names
from controlroom.services.procman.processspec import ProcessSpec
from controlroom.services.procman.specs import process_specs

PREFIX = "controlroom-"
TARGET = "controlroom.target"
CONFMAN_TIMEOUT_S = 2.0
_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
_UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\-]+")
HEADER = (
    "# Written by `controlroom systemd` from the Settings and {setup}; write again, not edit.\n"
)


@reported
def systemd(
    ctx: typer.Context,
    *,
    directory: Annotated[Path, typer.Argument(help="Where to write the unit files.")],
    setup: Annotated[
        str | None,
        typer.Option(
            help="Setup id (from the configuration manager) or YAML file; "
            "default: the current Setup, if the configuration manager answers."
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Write the units of this host (default: this machine).")
    ] = None,
) -> None:
    """Write one systemd unit per process of this host, and controlroom.target for them all."""
    state = cli_state(ctx)
    content, origin = _setup(state, setup)
    try:
        specs = process_specs(state.settings, content, python=sys.executable)
    except SpecError as exc:
        raise CliError(str(exc)) from None
    names = local_names() if host is None else {host.lower()}
    chosen = [s for s in specs if is_local(s.host, state.settings, names)]
    if not chosen:
        raise CliError(f"no process runs on {host or 'this machine'}")
    env = state.child_env().get(LOCAL_SETTINGS_ENV)
    policy = state.settings["services"]["procman"]
    directory.mkdir(parents=True, exist_ok=True)
    header = HEADER.format(setup=origin)
    for spec in chosen:
        text = header + unit_text(spec, {s.name for s in chosen}, policy, env)
        (directory / unit_name(spec.name)).write_text(text)
        for pin in spec.pins:
            render.say(
                f"note: {spec.name} binds its {pin.role} on port 0: clients need the registry"
            )
    (directory / TARGET).write_text(header + target_text(chosen))
    render.say(f"{len(chosen)} units and {TARGET} written to {directory} ({origin})")


def _setup(state: CliState, choice: str | None) -> tuple[dict[str, Any] | None, str]:
    """The Setup to take the devices from, and words saying which it is."""
    if choice is not None and not choice.isdigit():
        loaded = Setup.from_yaml_file(choice, allowed_packages=state.allowed_packages)
        return loaded.to_dict(), f"Setup file {choice}"
    try:
        with confman_proxy(state, timeout=CONFMAN_TIMEOUT_S) as confman:
            found = confman.get_setup(int(choice)) if choice else confman.get_current_setup()
    except (RpcError, CliError, ProcessError) as exc:
        if choice is not None:
            raise CliError(f"Setup {choice} is not available: {exc}") from None
        render.say(f"note: no current Setup ({exc}); core services only")
        return None, "no Setup"
    setup_id = ((found or {}).get("_meta") or {}).get("id")
    return found, f"Setup {setup_id}" if found else "no Setup"


def unit_name(name: str) -> str:
    if not _UNIT_NAME.fullmatch(name):
        raise CliError(f"{name!r} cannot be part of a systemd unit name")
    return f"{PREFIX}{name}.service"


def unit_text(
    spec: ProcessSpec, local: set[str], policy: Mapping[str, Any], settings_file: str | None
) -> str:
    """The unit of one process: its argv, restart policy and dependencies."""
    if spec.link is not None:
        raise CliError(
            f"{spec.name} learns its {spec.link.role} from {spec.link.source} at run time: "
            f"give {spec.link.source} a fixed port in the Settings for unit files"
        )
    after = " ".join(unit_name(name) for name in spec.after if name in local)
    lines = [
        "[Unit]",
        f"Description=controlroom {spec.kind} {spec.name}",
        f"PartOf={TARGET}",
        "Wants=network-online.target",
        f"After=network-online.target {after}".rstrip(),
        f"StartLimitIntervalSec={_seconds(policy['stable_s'])}",
        f"StartLimitBurst={int(policy['max_restarts']) + 1}",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={exec_line(spec.argv)}",
        "Restart=on-failure",
        f"RestartSec={_seconds(policy['backoff_s'])}",
        f"TimeoutStopSec={_seconds(policy['stop_timeout_s'])}",
    ]
    if settings_file:
        assignment = f"{LOCAL_SETTINGS_ENV}={Path(settings_file).resolve()}"
        lines.append(f"Environment={_quote(assignment, variables=False)}")
    lines += ["", "[Install]", f"WantedBy={TARGET}", ""]
    return "\n".join(lines)


def target_text(specs: Sequence[ProcessSpec]) -> str:
    units = " ".join(unit_name(spec.name) for spec in specs)
    lines = ["[Unit]", "Description=controlroom: every process of this host", f"Wants={units}"]
    return "\n".join([*lines, "", "[Install]", "WantedBy=multi-user.target", ""])


def exec_line(argv: Sequence[str]) -> str:
    """``argv`` in systemd's command-line syntax: specifiers and variables escaped, quoted."""
    return " ".join(_quote(arg) for arg in argv)


def _quote(arg: str, *, variables: bool = True) -> str:
    # `$` is expanded in ExecStart= only; `%` (specifiers) everywhere.
    escaped = arg.replace("%", "%%")
    if variables:
        escaped = escaped.replace("$", "$$")
    if _PLAIN.fullmatch(escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _seconds(value: Any) -> str:
    return f"{float(value):g}s"
