"""kill -9 of the process manager itself: its processes live on and the next one adopts them."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from procman_helpers import SERVICES, gone

from controlroom.config.settings import Settings
from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.services.confman.server import ConfigurationManager
from controlroom.services.procman.server import ProcessManager
from controlroom.testing.processes import ServerProcess
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

PROCMAN = [sys.executable, "-m", "controlroom.processes.service", "procman"]


def processes(proxy: DeviceProxy) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in proxy.list_processes()}


def all_running(proxy: DeviceProxy, names: list[str]) -> bool:
    found = processes(proxy)
    return sorted(found) == sorted(names) and all(p["state"] == "running" for p in found.values())


@pytest.fixture
def orphans() -> Iterator[list[int]]:
    """PIDs that outlive the killed process manager (not our children): killed at the end."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def test_a_new_process_manager_adopts_what_the_killed_one_left(
    settings: Settings, orphans: list[int]
) -> None:
    endpoint = str(settings["services"]["procman"]["commands"])
    with ServerProcess([*PROCMAN, "--start-all"]) as first:
        with make_proxy(ProcessManager, endpoint, timeout=60.0) as proxy:
            assert wait_until(lambda: all_running(proxy, SERVICES), 30.0)
            confman = processes(proxy)["confman"]["endpoints"]["commands"]
            with make_proxy(ConfigurationManager, confman, timeout=10.0) as setups:
                setups.load_setup(setups.submit_setup({"devices": {"dummy": {}}}, "dummy"))
            assert wait_until(lambda: all_running(proxy, [*SERVICES, "dummy"]), 30.0)
            before = {name: p["pid"] for name, p in processes(proxy).items()}
            orphans.extend(before.values())
        first.kill()
    assert all(psutil.pid_exists(pid) for pid in before.values())

    with ServerProcess(PROCMAN) as second:
        with make_proxy(ProcessManager, endpoint, timeout=60.0) as proxy:
            # The services at once; the devices once the Setup is known again.
            assert {n: p["pid"] for n, p in processes(proxy).items()} == {
                n: before[n] for n in SERVICES
            }
            assert proxy.reload_setup()["added"] == ["dummy"]
            after = processes(proxy)
            assert after["dummy"]["pid"] == before["dummy"] and after["dummy"]["state"] == "running"
            # Adopted processes are supervised like our own: a crash is restarted.
            os.kill(before["dummy"], signal.SIGKILL)
            restarted = lambda: processes(proxy)["dummy"]["restarts"] == 1  # noqa: E731
            assert wait_until(restarted, 15.0)
            assert wait_until(lambda: all_running(proxy, [*SERVICES, "dummy"]), 15.0)
            orphans.append(processes(proxy)["dummy"]["pid"])
        assert second.stop(timeout=30.0) == 0  # after stopping every process
    assert all(gone(pid) for pid in orphans)
