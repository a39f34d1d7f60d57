"""``controlroom up -d --setup demo``, ``ps`` and ``down``: the simulated lab in one command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

Controlroom = Callable[..., subprocess.CompletedProcess[str]]
STOPPED_WITHIN_S = 60.0  # a deadline for the wait, generous for a busy machine


def _port() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"


@pytest.fixture
def local_settings(lab_settings: Callable[[dict[str, Any]], Path]) -> Path:
    return lab_settings(
        {
            "devices": {
                "tempctl": {
                    "commands": _port(),
                    "publish": _port(),
                    "simulator": {"host": "127.0.0.1", "port": free_tcp_port()},
                },
                "dummy": {"commands": _port(), "publish": _port()},
            },
        }
    )


def test_up_detached_brings_the_demo_lab_up_and_down_stops_it_all(
    controlroom: Controlroom,
) -> None:
    def ours() -> list[psutil.Process]:
        # Processes running our settings file: the lab `up` started.
        mine = []
        for proc in psutil.process_iter(["cmdline", "environ"]):
            try:
                env = proc.info["environ"] or {}
            except (psutil.AccessDenied, psutil.NoSuchProcess):
                continue
            if env.get("CONTROLROOM_LOCAL_SETTINGS") == str(settings_path):
                mine.append(proc)
        return mine

    settings_path = Path(os.environ["CONTROLROOM_LOCAL_SETTINGS"])
    lab: tuple[list[psutil.Process], set[int]] | None = None
    try:
        up = controlroom("up", "-d", "--setup", "demo")
        assert up.returncode == 0, up.stderr
        assert "processes ready" in up.stdout
        ps = controlroom("ps", "--json")
        assert ps.returncode == 0, ps.stderr
        processes = {p["name"]: p for p in json.loads(ps.stdout)}
        expected = {"registry", "logman", "confman", "storage", "tempctl", "dummy", "web"}
        expected |= {"ogse", "psu", "motion", "hexapod", "daq", "dmm", "nodes"}  # the demo grew
        assert expected <= set(processes)
        states = {name: processes[name]["state"] for name in expected}
        assert set(states.values()) == {"running"}, {
            n: (processes[n]["state"], processes[n]["last_stderr"][-3:]) for n in expected
        }
        assert controlroom("call", "dummy", "ping").stdout.strip() == "pong"
        _check_status(controlroom, expected)
        _check_registered(controlroom, expected)
        lab = _census(controlroom)
    finally:
        down = controlroom("down")
    assert down.returncode == 0, down.stderr
    assert "everything stopped" in down.stdout, down.stdout
    assert lab is not None
    running, ports = lab
    assert running and ports
    # Every process `up` started is gone and its ports are free again. How long
    # `down` takes is a figure of bench/startup.py (down_s), not asserted here.
    assert wait_until(lambda: not _alive(running) and not ours(), STOPPED_WITHIN_S), [
        p.info["cmdline"] for p in ours()
    ]
    assert wait_until(lambda: not _taken(ports), STOPPED_WITHIN_S), sorted(_taken(ports))


def _census(controlroom: Controlroom) -> tuple[list[psutil.Process], set[int]]:
    """The lab's processes and the TCP ports its endpoints are bound on, as `status` says."""
    status = controlroom("status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    rows = json.loads(status.stdout)["processes"]
    processes = [psutil.Process(row["pid"]) for row in rows if row["pid"]]
    ports = set()
    for row in rows:
        for address in (row.get("endpoints") or {}).values():
            port = urllib.parse.urlsplit(str(address)).port if "://" in str(address) else None
            if port:
                ports.add(port)
    return processes, ports


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running (a zombie has exited: its parent reaps it when it gets to it)."""
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            continue
    return alive


def _taken(ports: set[int]) -> set[int]:
    """The ``ports`` a server could not bind on loopback now (with SO_REUSEADDR, as ours do)."""
    taken = set()
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken.add(port)
    return taken


def _check_status(controlroom: Controlroom, expected: set[str]) -> None:
    status = controlroom("status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    census = json.loads(status.stdout)
    rows = {row["name"]: row for row in census["processes"]}
    assert {*expected, "procman", "scheduler", "tempctl-sim"} <= set(rows)
    assert census["all_up"] and census["procman"]
    assert census["setup_id"] is not None and census["site"] == "LAB"
    for name in expected - {"web"}:
        row = rows[name]
        assert row["up"] and row["pid"] and row["uptime_s"] is not None, row
        assert row["endpoints"]["commands"].startswith("tcp://127.0.0.1:"), row
        assert row["host"], row
    panel = rows["web"]
    assert panel["up"] and panel["endpoints"]["url"].startswith("http://127.0.0.1:"), panel
    with urllib.request.urlopen(panel["endpoints"]["url"] + "api/pages", timeout=10) as page:
        assert page.status == 200  # the panel of the lab serves (anonymous in these Settings)
    devices = {"tempctl", "dummy", "ogse", "psu", "motion", "hexapod", "daq"}
    assert wait_until(lambda: devices <= _panel_devices(panel["endpoints"]["url"]), 20.0)
    _check_pipe(rows["pipe"]["endpoints"]["url"])
    assert rows["nodes-sim"]["up"]
    table = controlroom("status")
    assert "lab status" in table.stdout and "obsid" in table.stdout


def _check_registered(controlroom: Controlroom, expected: set[str]) -> None:
    """Core services and control servers alike register with the registry."""
    listed = controlroom("registry", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    names = {entry["name"] for entry in json.loads(listed.stdout)}
    assert expected - {"registry", "web"} <= names, names


def _check_pipe(url: str) -> None:
    """The demo's pipe-command server answers a plain TCP client."""
    host, port = url.removeprefix("tcp://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        stream = raw.makefile("rw")
        stream.write("dummy|read_value\n")
        stream.flush()
        assert stream.readline().startswith("OK ")


def _panel_devices(url: str) -> set[str]:
    """The devices the web panel's Devices page lists as up."""
    with urllib.request.urlopen(url + "api/device", timeout=10) as reply:
        return {d["name"] for d in json.load(reply) if d["up"]}
