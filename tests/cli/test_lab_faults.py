"""kill -9 of every process of a running demo lab: each comes back and nothing is lost.

The lab runs as an operator runs it, ``controlroom up --setup demo`` in the
foreground. In turn each core service, each control server and the simulator
is killed with SIGKILL: the process manager restarts it on the same address,
the proxies made before the kill carry on without being told, and every HK
sample the storage manager had acknowledged (it answered queries with it)
before the kill is still there afterwards. Last, the process manager itself
is killed: the foreground ``up`` starts a new one, which adopts the running
processes instead of starting them again.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from foreground import ForegroundUp

from controlroom.config.settings import load_settings
from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc import Proxy, RpcError
from controlroom.services.storage.client import StorageClient
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

HK = "TEMPCTL_TEMP_A"
VICTIMS = ("registry", "logman", "confman", "storage", "scheduler", "tempctl-sim", "tempctl")
VICTIMS += ("dummy", "web")
READY_S = 90.0  # the whole lab on a loaded 2-core machine
HEAL_S = 30.0


def _port() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"


@pytest.fixture
def local_settings(lab_settings: Callable[[dict[str, Any]], Path]) -> Path:
    device = {"commands": "", "publish": "", "hk_period_s": 0.2, "status_period_s": 0.2}
    return lab_settings(
        {
            "devices": {
                "tempctl": {
                    **device,
                    "commands": _port(),
                    "publish": _port(),
                    "simulator": {"host": "127.0.0.1", "port": free_tcp_port()},
                },
                "dummy": {**device, "commands": _port(), "publish": _port()},
            },
        }
    )


class Lab(ForegroundUp):
    """The demo lab under a foreground ``controlroom up``."""

    def __init__(self, settings_path: Path) -> None:
        super().__init__("--setup", "demo")
        self.settings = load_settings(settings_path)

    def endpoint(self, section: str, name: str) -> str:
        return str(self.settings[section][name]["commands"])

    def processes(self) -> dict[str, dict[str, Any]]:
        with Proxy(self.endpoint("services", "procman"), timeout=2.0) as procman:
            return {p["name"]: p for p in procman.request("list_processes")}

    def running(self, name: str, not_pid: int) -> bool:
        try:
            process = self.processes()[name]
        except RpcError:
            return False
        return process["state"] == "running" and process["pid"] not in (None, not_pid)

    def procman_record(self) -> ProcessRecord | None:
        path = Path(self.settings["locations"]["state"]) / "cs-procman.json"
        try:
            record = ProcessRecord.from_json(path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return record if record.process() is not None else None


@pytest.fixture
def lab(local_settings: Path) -> Iterator[Lab]:
    lab = Lab(local_settings)
    try:
        assert lab.wait_for("processes ready", READY_S), "".join(lab.output)
        yield lab
    finally:
        lab.process.send_signal(signal.SIGTERM)
        lab.process.wait(timeout=60.0)
        lab.wait_for("never printed", 0.5)  # collect the rest for the assertion below
        assert "everything stopped" in "".join(lab.output), "".join(lab.output)
        assert not _ours(local_settings), "processes left after up stopped"


def _ours(settings_path: Path) -> list[int]:
    """PIDs of processes running with our settings file (all of the lab's); killed."""
    pids = []
    for proc in psutil.process_iter(["environ"]):
        try:
            env = proc.info["environ"] or {}
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        if env.get("CONTROLROOM_LOCAL_SETTINGS") == str(settings_path) and proc.pid != os.getpid():
            pids.append(proc.pid)
            proc.kill()
    return pids


def _stored_times(storage: StorageClient) -> list[float]:
    """The acknowledged HK times (empty while the storage manager restarts)."""
    try:
        return list(storage.get_housekeeping(HK, origin="TEMPCTL")["times"])
    except RpcError:
        return []


def _answers(call: Callable[[], Any]) -> bool:
    try:
        call()
    except RpcError:
        return False
    return True


def test_every_process_killed_with_sigkill_comes_back_and_no_hk_is_lost(lab: Lab) -> None:
    dummy = Proxy(lab.endpoint("devices", "dummy"), name="dummy", timeout=2.0)
    tempctl = Proxy(lab.endpoint("devices", "tempctl"), name="tempctl", timeout=2.0)
    storage = StorageClient(lab.endpoint("services", "storage"), timeout=5.0)
    with dummy, tempctl, storage:
        assert wait_until(lambda: len(_stored_times(storage)) >= 3, HEAL_S)
        for victim in VICTIMS:
            acknowledged = _stored_times(storage)
            assert acknowledged, f"no HK stored before killing {victim}"
            pid = lab.processes()[victim]["pid"]
            os.kill(pid, signal.SIGKILL)
            assert wait_until(lambda v=victim, p=pid: lab.running(v, p), HEAL_S), victim
            # The proxies made before the kill carry on: no reconnect by hand.
            assert wait_until(lambda: _answers(lambda: dummy.request("read_value")), HEAL_S)
            assert wait_until(
                lambda: _answers(lambda: tempctl.request("temperature", ("A",))), HEAL_S
            ), victim
            assert wait_until(lambda a=acknowledged: len(_stored_times(storage)) > len(a), HEAL_S)
            kept = set(_stored_times(storage))
            lost = [t for t in acknowledged if t not in kept]
            assert not lost, f"{len(lost)} acknowledged HK samples lost after killing {victim}"
        _kill_the_process_manager(lab)
        assert _answers(lambda: dummy.request("read_value"))


def _kill_the_process_manager(lab: Lab) -> None:
    record = lab.procman_record()
    assert record is not None

    def all_running() -> bool:
        return all(p["state"] == "running" for p in lab.processes().values())

    assert wait_until(all_running, HEAL_S), lab.processes()
    children = {name: p["pid"] for name, p in lab.processes().items()}
    os.kill(record.pid, signal.SIGKILL)
    assert lab.wait_for("restarting it", HEAL_S), "".join(lab.output)

    def adopted() -> bool:
        renewed = lab.procman_record()
        if renewed is None or renewed.pid == record.pid:
            return False
        try:
            now = lab.processes()
        except RpcError:
            return False
        # The Setup's processes are listed once the new manager has fetched the Setup.
        return all(now.get(name, {}).get("state") == "running" for name in children)

    assert wait_until(adopted, HEAL_S)
    # Adopted, not restarted: every process kept its PID.
    assert {name: p["pid"] for name, p in lab.processes().items()} == children
