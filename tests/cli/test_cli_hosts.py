"""One lab on two hosts of one machine: each `up` starts its share, each `down` stops only it.

Both hosts share this machine (and its loopback), so ``--host`` and
``CONTROLROOM_HOST`` say which one a command speaks for; the core services are
placed on the server host by their ``host:`` keys and each process manager
binds a port of its own.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

Controlroom = Callable[..., subprocess.CompletedProcess[str]]
CORE = ("registry", "logman", "confman", "storage", "scheduler", "scenarios")


@pytest.fixture
def local_settings(lab_settings: Callable[[dict[str, Any]], Path]) -> Path:
    services = yaml.safe_load(lab_settings({}).read_text())["services"]  # on free ports
    for name in CORE:
        services[name]["host"] = "server"
    services["procman"].update(commands="tcp://127.0.0.1:0", publish="tcp://127.0.0.1:0")
    hosts = {"server": "127.0.0.1", "bench": "127.0.0.1"}
    return lab_settings({"hosts": hosts, "services": services, "web": {"enabled": False}})


def as_host(controlroom: Controlroom, host: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``controlroom ARGS`` run as host ``host`` says (CONTROLROOM_HOST)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONTROLROOM_HOST", host)
        return controlroom(*args)


def census(controlroom: Controlroom, host: str) -> dict[str, Any]:
    result = as_host(controlroom, host, "status", "--json", "--timeout", "2")
    return dict(json.loads(result.stdout))


def test_each_host_comes_up_and_goes_down_on_its_own(
    controlroom: Controlroom, tmp_path: Path
) -> None:
    setup = tmp_path / "setup.yaml"
    setup.write_text(yaml.safe_dump({"devices": {"dummy": {"host": "bench"}}}))
    try:
        server = controlroom("up", "-d", "--host", "server", "--setup", str(setup))
        assert server.returncode == 0, server.stderr
        assert "processes ready" in server.stdout and "(host server)" in server.stdout
        bench = controlroom("up", "-d", "--host", "bench")
        assert bench.returncode == 0, bench.stderr
        assert "all 1 processes ready" in bench.stdout and "(host bench)" in bench.stdout

        seen = census(controlroom, "server")
        assert [host["name"] for host in seen["hosts"]] == ["server", "bench"]
        where = {(row["host"], row["name"]): row["up"] for row in seen["processes"]}
        assert where == {
            **{("server", name): True for name in ("procman", *CORE)},
            ("bench", "procman"): True,
            ("bench", "dummy"): True,
        }
        assert seen["all_up"] and seen["setup_id"] == 1
        listed = as_host(controlroom, "server", "ps", "--host", "bench", "--json")
        assert [p["name"] for p in json.loads(listed.stdout)] == ["dummy"]

        down = controlroom("down", "--host", "bench")
        assert down.returncode == 0, down.stderr
        seen = census(controlroom, "server")
        where = {(row["host"], row["name"]): row["up"] for row in seen["processes"]}
        assert all(where["server", name] for name in ("procman", *CORE))
        assert ("bench", "dummy") not in where and not where["bench", "procman"]
        assert not seen["all_up"]
    finally:
        for host in ("bench", "server"):
            stopped = controlroom("down", "--host", host)
            assert stopped.returncode == 0, stopped.stderr
