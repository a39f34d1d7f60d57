"""A running process re-reads the keys folder on SIGHUP: keys rotate without a restart."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
import zmq

from controlroom.rpc import Proxy
from controlroom.rpc.errors import RpcError
from controlroom.rpc.keyring import add_client, revoke_client
from controlroom.testing.processes import ServerProcess
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def keyed_settings(local_settings: Path, keys_folder: Path) -> Path:
    settings = yaml.safe_load(local_settings.read_text())
    settings["security"] = {"keys": str(keys_folder)}
    local_settings.write_text(yaml.safe_dump(settings))
    return local_settings


def _answers(endpoint: str, context: zmq.Context[Any]) -> bool:
    with Proxy(endpoint, context=context, timeout=0.5) as proxy:
        try:
            return isinstance(proxy.request("read_value"), float)
        except RpcError:
            return False


def test_sighup_admits_a_new_key_and_drops_a_revoked_one_without_a_restart(
    keyed_settings: Path,
    keys_folder: Path,
    client_context: Callable[..., zmq.Context[Any]],
) -> None:
    argv = [sys.executable, "-m", "controlroom.processes.device", "dummy"]
    with ServerProcess(argv) as server:
        pid = server.pid
        add_client(keys_folder, "night-shift", "operator")
        late = client_context("night-shift")
        assert not _answers(server.endpoint, late)  # not listed when the server read its keys
        os.kill(pid, signal.SIGHUP)
        assert wait_until(lambda: _answers(server.endpoint, late), 10.0)

        with Proxy(server.endpoint, context=late, timeout=5.0) as open_connection:
            open_connection.request("set_offset", (1.0,))  # an operator may
            revoke_client(keys_folder, "night-shift")
            os.kill(pid, signal.SIGHUP)

            def refused() -> bool:
                try:
                    open_connection.request("set_offset", (2.0,))
                except PermissionError:
                    return True
                return False

            assert wait_until(refused, 10.0)
        assert server.pid == pid  # the same process all along
