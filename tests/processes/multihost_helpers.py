"""A facility on several hosts (network namespaces), shared by the multi-host tests.

Host a runs the core services (``controlroom up``), host b the dummy sensor's
control server, host c is a client; every host reads the same Settings but its
own state folder. Sockets beyond loopback need CURVE, so the hosts share a keys
folder. A client on a host is a child process there (a CLI run or a Python
one-liner): the test process itself lives in no host's namespace.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from multihost_clients import CALL_BY_NAME

from controlroom.rpc.child import NotReady, module_argv
from controlroom.rpc.process import parse_ready_line
from controlroom.testing.netns import HostProcess, NetworkHosts
from controlroom.testing.ports import free_tcp_port
from controlroom.web.sessions import hash_password
from controlroom.web.tlscert import make_self_signed

SERVICES = ("registry", "logman", "confman", "storage", "scheduler", "scenarios", "procman")
SERVER, DEVICE_HOST, CLIENT, PANEL = "a", "b", "c", "d"
USER, PASSWORD = "vera", "viewer-pw"  # the panel's one user (a viewer)
DEVICE = "dummy"
DEVICE_INFO = "controlroom,DUMMY-SENSOR,SN0001,1.0"
HK_NAME = "DUMMY_TEMP"  # the dummy's reading, as the telemetry dictionary names it
UP_READY = re.compile(r"^all \d+ processes ready")
READY_TIMEOUT_S = 45.0
CLIENT_TIMEOUT_S = 30.0
REGISTERED_WITHIN_S = 15.0
HK_STORED_WITHIN_S = 20.0
IDENTITY_ENV = "CONTROLROOM_IDENTITY"


def lab_settings(lab: NetworkHosts, folder: Path, *, keys: Path | None) -> dict[str, Any]:
    """The Settings of every host: core services on a, the dummy on b (port 0).

    ``keys``: the CURVE keys folder (None: no CURVE, which allows loopback only).
    """
    server, device = lab.address(SERVER), lab.address(DEVICE_HOST)
    services = {name: {"commands": _free(server), "publish": _free(server)} for name in SERVICES}
    services["logman"]["records"] = _free(server)
    settings: dict[str, Any] = {
        "site": "LAB",
        "hosts": {host: lab.address(host) for host in lab.hosts},
        "services": services,
        "locations": {key: str(folder / key) for key in ("conf_repo", "data", "state")},
        "web": {"enabled": False},
        "devices": {
            DEVICE: {
                "commands": f"tcp://{device}:0",
                "publish": f"tcp://{device}:0",
                "hk_period_s": 0.2,
                "status_period_s": 0.2,
            }
        },
    }
    if keys is not None:
        settings["security"] = {"keys": str(keys)}
    return settings


def _free(host: str) -> str:
    # Every port is free in a's fresh namespace; asking the OS keeps the rule of the suite.
    return f"tcp://{host}:{free_tcp_port()}"


@dataclass
class Facility:
    """The hosts, the Settings they share, and each host's own folder (the hosts share
    one file system, machines would not: state files must not meet)."""

    hosts: NetworkHosts
    settings: dict[str, Any]
    folder: Path

    def env(self, host: str, identity: str | None = None) -> dict[str, str]:
        """The environment of ``host``'s processes: ours, reading its Settings file;
        ``identity``: the client key they use (None: the Settings' own, ``lab``)."""
        mine = self.folder / host
        mine.mkdir(exist_ok=True)
        locations = {**self.settings["locations"], "state": str(mine / "state")}
        path = mine / "settings.yaml"
        path.write_text(yaml.safe_dump({**self.settings, "locations": locations}))
        env = {**os.environ, "CONTROLROOM_LOCAL_SETTINGS": str(path)}
        env.pop(IDENTITY_ENV, None)
        if identity is not None:
            env[IDENTITY_ENV] = identity
        return env

    def up(self, host: str, *args: str) -> HostProcess:
        """``controlroom up`` on ``host``, once every process it starts is ready."""
        argv = controlroom("up", "--timeout", str(READY_TIMEOUT_S), *args)
        ready = lambda line: line if UP_READY.match(line) else None  # noqa: E731
        try:
            return self.hosts.run(
                host, argv, env=self.env(host), ready=ready, ready_timeout=READY_TIMEOUT_S
            )
        except NotReady as exc:
            exc.add_note(log_tails(self.folder / host / "state"))
            raise

    def device_server(self) -> HostProcess:
        """The dummy's control server on host b, once it serves."""
        argv = module_argv("controlroom.processes.device", DEVICE)
        env = self.env(DEVICE_HOST)
        return self.hosts.run(DEVICE_HOST, argv, env=env, ready=parse_ready_line)

    def call_by_name(self, command: str) -> dict[str, Any]:
        """From host c: the registry's entry of the dummy and what ``command`` returned."""
        done = self.python(CLIENT, CALL_BY_NAME, DEVICE, command, str(REGISTERED_WITHIN_S))
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    def cli(
        self, host: str, *args: str, identity: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``controlroom ARGS`` run to its end on ``host`` (as client key ``identity``)."""
        return self.hosts.execute(
            host, controlroom(*args), env=self.env(host, identity), timeout=CLIENT_TIMEOUT_S
        )

    def python(
        self,
        host: str,
        code: str,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = REGISTERED_WITHIN_S + CLIENT_TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        """``python -c CODE ARGS`` run to its end on ``host`` (default: with ``env(host)``)."""
        argv = [sys.executable, "-c", code, *args]
        return self.hosts.execute(host, argv, env=env or self.env(host), timeout=timeout)

    def registered(self, host: str) -> dict[str, dict[str, Any]]:
        """The registry's entries by name, as ``registry list`` on ``host`` shows them."""
        done = self.cli(host, "registry", "list", "--json")
        assert done.returncode == 0, done.stderr
        return {entry["name"]: entry for entry in json.loads(done.stdout)}


def controlroom(*args: str) -> list[str]:
    return module_argv("controlroom.cli.main", *args)


def log_tails(state: Path, lines: int = 5) -> str:
    """The last lines of every log under a host's state folder, for a failing start."""
    tails = []
    for log in sorted(state.rglob("*.log")):
        text = log.read_text(errors="replace").splitlines()[-lines:]
        tails.append(f"--- {log.relative_to(state)}\n" + "\n".join(text))
    return "\n".join(tails) or f"no logs under {state}"


def panel_settings(facility: Facility) -> Path:
    """Serve the panel on d's address over HTTPS with one viewer; the certificate to trust."""
    address = facility.hosts.address(PANEL)
    cert, key = facility.folder / "tls" / "panel.crt", facility.folder / "tls" / "panel.key"
    make_self_signed(cert, key, [address])
    facility.settings["web"] = {
        "enabled": False,  # `up` on a leaves it to d
        "host": address,
        "port": 0,
        "tls_cert": str(cert),
        "tls_key": str(key),
        "users": {USER: {"password_hash": hash_password(PASSWORD), "role": "viewer"}},
        "discover_every_s": 0.5,
        "ping_timeout_s": 1.0,
    }
    return cert
