"""The demo lab with CURVE keys on every socket: `keys init`, `up -d`, roles at the servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zmq

from controlroom.rpc import Proxy, curve
from controlroom.rpc.errors import ServerUnavailable
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

Controlroom = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def local_settings(lab_settings: Callable[[dict[str, Any]], Path], keys_folder: Path) -> Path:
    return lab_settings({"security": {"keys": str(keys_folder)}})


def _as(identity: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``controlroom ARGS`` with another client key (CONTROLROOM_IDENTITY)."""
    env = {**os.environ, "CONTROLROOM_IDENTITY": identity}
    argv = [sys.executable, "-m", "controlroom.cli.main", *args]
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=60, env=env)


def test_the_lab_runs_with_curve_on_every_socket_and_roles_hold_at_each_server(
    controlroom: Controlroom, local_settings: Path
) -> None:
    try:
        up = controlroom("up", "-d", "--setup", "demo")
        assert up.returncode == 0, up.stdout + up.stderr
        status = controlroom("status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        rows = {row["name"]: row for row in json.loads(status.stdout)["processes"]}
        assert {"registry", "storage", "logman", "confman", "dummy"} <= set(rows)
        assert all(rows[name]["up"] for name in ("registry", "storage", "dummy")), rows

        # The lab key (the CLI's default identity) may do anything; a viewer only look.
        assert controlroom("call", "dummy", "set_offset", "1.5").returncode == 0
        viewer_read = _as("viewer", "call", "dummy", "get_offset")
        assert viewer_read.returncode == 0, viewer_read.stderr
        assert "1.5" in viewer_read.stdout
        refused = _as("viewer", "call", "dummy", "set_offset", "9")
        assert refused.returncode != 0
        assert "needs the operator role" in refused.stdout + refused.stderr
        operator = _as("operator", "call", "dummy", "set_offset", "2.5")
        assert operator.returncode == 0, operator.stderr
        assert "admin role" in (_as("operator", "call", "dummy", "quit")).stderr

        # Housekeeping crossed CURVE to the storage manager; the journal has each caller.
        assert wait_until(lambda: _journal_callers(controlroom) >= {"key operator", "key viewer"})
        assert wait_until(lambda: _stored_origins(controlroom) >= {"DUMMY", "TEMPCTL"}, 20.0)

        # A client without keys does not even get a connection.
        plain: zmq.Context[Any] = zmq.Context()
        try:
            curve.secure(plain, None)
            commands = rows["dummy"]["endpoints"]["commands"]
            with Proxy(commands, context=plain, timeout=0.5) as stranger:
                with pytest.raises(ServerUnavailable, match="refuses a client without"):
                    stranger.ping()
        finally:
            curve.unsecure(plain)
            plain.destroy(linger=0)
    finally:
        down = controlroom("down")
    assert down.returncode == 0, down.stderr


def _journal_callers(controlroom: Controlroom) -> set[str]:
    done = controlroom("journal", "--server", "dummy", "--json")
    if done.returncode != 0:
        return set()
    return {str(entry.get("caller")) for entry in json.loads(done.stdout)}


def _stored_origins(controlroom: Controlroom) -> set[str]:
    done = controlroom("hk", "names", "--json")
    if done.returncode != 0:
        return set()
    return {str(entry.get("origin")) for entry in json.loads(done.stdout)}
