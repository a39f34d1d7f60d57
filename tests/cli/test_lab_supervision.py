"""Who supervises the process manager, and ``down`` stays down.

A foreground ``up`` and the watcher ``up -d`` leaves behind both restart a
process manager that was killed (the new one adopts the processes still
running); neither restarts one that was stopped on purpose. The lab here is
the lightest there is: no Setup and no web panel, so the process manager and
the core services only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from foreground import ForegroundUp

from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc import Proxy, RpcError
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

Controlroom = Callable[..., subprocess.CompletedProcess[str]]
SERVICES = ("registry", "logman", "confman", "storage", "scheduler", "scenarios")
READY_S = 60.0  # the core services on a loaded 2-core machine
EXIT_S = 60.0
HEAL_S = 60.0


def _free() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"


@pytest.fixture
def local_settings(tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    services: dict[str, Any] = {
        name: {"commands": _free(), "publish": _free()} for name in [*SERVICES, "procman"]
    }
    services["logman"]["records"] = _free()
    services["procman"].update(backoff_s=0.1, max_restarts=3)
    settings = {
        "services": services,
        "web": {"enabled": False},
        "locations": {
            "state": str(state_dir),
            "data": str(tmp_path / "data"),
            "conf_repo": str(tmp_path / "conf_repo"),
        },
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))  # the lab's processes read it
    return path


def _lab_processes(settings_path: Path) -> list[psutil.Process]:
    """Every process started with our settings file: all of the lab's (not pytest)."""
    found = []
    for process in psutil.process_iter(["environ", "status"]):
        try:
            env = process.info["environ"] or {}
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        ours = env.get("CONTROLROOM_LOCAL_SETTINGS") == str(settings_path)
        if ours and process.pid != os.getpid() and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


@pytest.fixture
def leftovers(local_settings: Path) -> Iterator[Callable[[], list[str]]]:
    """What of the lab still runs; whatever a failed test left is killed at teardown."""

    def left() -> list[str]:
        described = []
        for process in _lab_processes(local_settings):
            with contextlib.suppress(psutil.NoSuchProcess):
                described.append(" ".join(process.cmdline()[1:5]))
        return described

    yield left
    for process in _lab_processes(local_settings):
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


class LightLab(ForegroundUp):
    """The light lab (no Setup, no panel) under a foreground ``up``."""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # it stops its lab on the way out
            self.process.wait(timeout=EXIT_S)


def test_down_stops_a_foreground_up_which_exits_instead_of_restarting_the_lab(
    controlroom: Controlroom, leftovers: Callable[[], list[str]]
) -> None:
    up = LightLab()
    try:
        assert up.wait_for("processes ready", READY_S), up.text()
        down = controlroom("down")
        assert down.returncode == 0, down.stderr
        assert "everything stopped" in down.stdout
        try:
            code = up.process.wait(timeout=EXIT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the foreground up did not exit after down:\n{up.text()}")
        output = up.text()
        assert code == 0, output
        assert "stopped on purpose (controlroom down)" in output, output
        assert "restarting" not in output, output
        assert leftovers() == []
    finally:
        up.stop()


def _procman(state_dir: Path) -> ProcessRecord | None:
    """The live process manager of the state file."""
    try:
        record = ProcessRecord.from_json((state_dir / "cs-procman.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return record if record.process() is not None else None


def _running(record: ProcessRecord) -> dict[str, int] | None:
    """Name → PID of its processes, if they all run (None while it cannot tell)."""
    try:
        with Proxy(record.endpoints["commands"], name="procman", timeout=2.0) as procman:
            listed = procman.request("list_processes")
    except RpcError:
        return None
    if any(p["state"] != "running" for p in listed):
        return None
    return {p["name"]: p["pid"] for p in listed}


def test_under_up_detached_a_killed_process_manager_is_replaced_and_down_stops_it_all(
    controlroom: Controlroom, state_dir: Path, leftovers: Callable[[], list[str]]
) -> None:
    up = controlroom("up", "-d")
    assert up.returncode == 0, up.stdout + up.stderr
    first = _procman(state_dir)
    assert first is not None
    assert wait_until(lambda: _running(first) is not None, READY_S)
    children = _running(first)
    assert children is not None and set(children) == set(SERVICES), children

    os.kill(first.pid, signal.SIGKILL)

    def adopted() -> bool:
        renewed = _procman(state_dir)
        if renewed is None or renewed.pid == first.pid:
            return False
        return _running(renewed) == children  # the same PIDs: adopted, not started again

    assert wait_until(adopted, HEAL_S, every_s=0.2), leftovers()

    down = controlroom("down")
    assert down.returncode == 0, down.stderr
    assert "everything stopped" in down.stdout
    assert leftovers() == []  # the watcher too


def test_down_stops_what_a_killed_unsupervised_process_manager_left_running(
    controlroom: Controlroom, state_dir: Path, leftovers: Callable[[], list[str]]
) -> None:
    started = controlroom("procman", "start", "--start-all")  # no watcher: nobody restarts it
    assert started.returncode == 0, started.stderr
    record = _procman(state_dir)
    assert record is not None
    assert wait_until(lambda: _running(record) is not None, READY_S)
    assert set(_running(record) or {}) == set(SERVICES)
    os.kill(record.pid, signal.SIGKILL)
    assert wait_until(lambda: _procman(state_dir) is None, EXIT_S)

    down = controlroom("down")
    assert down.returncode == 0, down.stderr
    assert "stopped what it had left running" in down.stdout, down.stdout
    assert leftovers() == []
