"""The supervisor with real child processes: ready lines, crashes, backoff, stops."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from procman_helpers import Events, child_spec, gone

from controlroom.services.procman.errors import UnknownProcess
from controlroom.services.procman.processspec import Link, Pin
from controlroom.services.procman.supervisor import State, Supervisor
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

MakeSupervisor = Callable[..., Supervisor]


def test_start_waits_for_the_ready_line(make_supervisor: MakeSupervisor, events: Events) -> None:
    supervisor = make_supervisor()
    supervisor.set_specs([child_spec("slow", "--delay", "0.5")])
    process = supervisor.start("slow")
    assert process["state"] == "running"
    assert process["endpoints"]["commands"] == "tcp://127.0.0.1:45678"
    assert psutil.pid_exists(process["pid"])
    assert process["started"] is not None and process["restarts"] == 0
    assert events.order("process_started") == ["slow"]


def test_a_crash_is_restarted_with_growing_backoff_until_failed(
    make_supervisor: MakeSupervisor, events: Events
) -> None:
    supervisor = make_supervisor(backoff_s=0.2, backoff_max_s=1.0, max_restarts=2)
    supervisor.set_specs([child_spec("crasher", "--crash", "--code", "3", "--stderr", "boom")])
    supervisor.start("crasher")
    assert wait_until(lambda: supervisor.get("crasher").state == State.FAILED, 15.0)
    process = supervisor.get("crasher").describe()
    assert process["restarts"] == 2 and process["pid"] is None
    assert process["exit_code"] == 3 and process["last_stderr"][-1] == "boom"
    started = [t for t, _ in events.named("process_started")]
    exited = [t for t, _ in events.named("process_exited")]
    assert len(started) == 3 and len(exited) == 3
    # Waits of 0.2 s then 0.4 s between an exit and the next start.
    gaps = [start - end for start, end in zip(started[1:], exited, strict=False)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4
    (_, failed), *_ = events.named("process_failed")
    assert failed["exit_code"] == 3 and failed["last_stderr"][-1] == "boom"


def test_a_process_that_crashed_once_runs_again(
    make_supervisor: MakeSupervisor, tmp_path: Path
) -> None:
    supervisor = make_supervisor()
    supervisor.set_specs([child_spec("flaky", "--crash-once", str(tmp_path / "crashed"))])
    supervisor.start("flaky")
    process = supervisor.get("flaky")
    assert wait_until(lambda: process.restarts == 1 and process.state == State.RUNNING, 10.0)
    assert process.exit_code == 3 and process.last_stderr == ["crashing"]


def test_exit_before_ready_is_reported_by_start(make_supervisor: MakeSupervisor) -> None:
    supervisor = make_supervisor(max_restarts=0)
    spec = child_spec("early", "--exit-early", "--code", "7", "--stderr", "no config")
    supervisor.set_specs([spec])
    process = supervisor.start("early")
    assert process["state"] == "failed"
    assert process["exit_code"] == 7 and process["last_stderr"] == ["no config"]


def test_no_ready_line_in_time_kills_the_process(make_supervisor: MakeSupervisor) -> None:
    supervisor = make_supervisor(max_restarts=0, ready_timeout_s=0.5)
    supervisor.set_specs([child_spec("mute", "--no-ready")])
    process = supervisor.start("mute")
    assert process["state"] == "failed"
    assert process["exit_code"] == -15  # SIGTERM from the supervisor


def test_stop_kills_the_whole_process_group(make_supervisor: MakeSupervisor) -> None:
    supervisor = make_supervisor(stop_timeout_s=0.5)
    supervisor.set_specs([child_spec("parent", "--grandchild", "--ignore-term")])
    process = supervisor.start("parent")
    grandchild = int(process["endpoints"]["grandchild"])
    assert not gone(grandchild)
    stopped = supervisor.stop("parent")
    assert stopped["state"] == "stopped" and stopped["pid"] is None
    assert stopped["exit_code"] == -9  # it ignored SIGTERM
    assert wait_until(lambda: gone(grandchild), 5.0)
    assert not psutil.pid_exists(process["pid"])  # our child: reaped by the supervisor


def test_a_stopped_process_is_not_restarted(
    make_supervisor: MakeSupervisor, events: Events
) -> None:
    supervisor = make_supervisor()
    supervisor.set_specs([child_spec("calm")])
    supervisor.start("calm")
    supervisor.stop("calm")
    (_, exited), *_ = events.named("process_exited")
    assert exited["expected"] is True
    assert supervisor.get("calm").state == State.STOPPED
    assert events.named("process_started", "calm")[1:] == []


def test_a_chatty_child_never_blocks_on_its_stdout(
    make_supervisor: MakeSupervisor, tmp_path: Path
) -> None:
    supervisor = make_supervisor()
    supervisor.set_specs([child_spec("chatty", "--chatty", "20000")])
    supervisor.start("chatty")
    out = tmp_path / "logs" / "chatty.stdout.log"
    assert wait_until(lambda: out.exists() and "chatter 19999" in out.read_text(), 10.0)
    assert supervisor.get("chatty").state == State.RUNNING


def test_start_all_follows_dependencies_and_stop_all_reverses_them(
    make_supervisor: MakeSupervisor, events: Events
) -> None:
    supervisor = make_supervisor()
    supervisor.set_specs(
        [
            child_spec("device", "--delay", "0.1", after=("base", "sim")),
            child_spec("sim", "--delay", "0.3", after=("base",)),
            child_spec("base", "--delay", "0.2"),
        ]
    )
    processes = supervisor.start_all()
    assert {p["name"]: p["state"] for p in processes} == dict.fromkeys(
        ("device", "sim", "base"), "running"
    )
    assert events.order("process_started") == ["base", "sim", "device"]
    supervisor.stop_all()
    assert events.order("process_exited") == ["device", "sim", "base"]


def test_a_slow_start_holds_up_only_what_needs_it_and_registry_stops_last(
    make_supervisor: MakeSupervisor, events: Events, tmp_path: Path
) -> None:
    go = tmp_path / "slow may be ready"
    os.mkfifo(go)  # the slow child reads it: its start ends when the test writes
    supervisor = make_supervisor(ready_timeout_s=60.0)  # the slow one is held meanwhile
    supervisor.set_specs(
        [
            child_spec("registry"),
            child_spec("slow", "--ready-after", str(go)),  # like the web panel
            child_spec("device", after=("registry",)),
        ]
    )
    starting = threading.Thread(target=supervisor.start_all, name="start_all", daemon=True)
    starting.start()
    try:
        # Not wave by wave: the device starts while the slow one of the first wave is
        # still held (it cannot be ready before the file exists).
        assert wait_until(lambda: "device" in events.order("process_started"), 30.0)
        assert events.order("process_started") == ["registry", "device"]
    finally:
        # Opening a FIFO for writing waits for its reader: on a thread, so a child that
        # died first cannot hang the test.
        release = threading.Thread(target=go.write_bytes, args=(b"go",), daemon=True)
        release.start()
        release.join(30.0)
        starting.join(30.0)
    assert not starting.is_alive()
    assert events.order("process_started") == ["registry", "device", "slow"]
    supervisor.stop_all()
    assert events.order("process_exited")[-1] == "registry"


def test_the_log_manager_stops_after_everything_but_the_registry(
    make_supervisor: MakeSupervisor, events: Events
) -> None:
    supervisor = make_supervisor()
    names = ["registry", "logman", "storage", "device"]
    supervisor.set_specs([child_spec(name) for name in names])
    supervisor.start_all()
    supervisor.stop_all()
    # logman unregisters from the registry as it stops: the registry must still answer.
    assert events.order("process_exited")[-2:] == ["logman", "registry"]


def test_unknown_names_are_refused(make_supervisor: MakeSupervisor) -> None:
    supervisor = make_supervisor()
    supervisor.set_specs([child_spec("known")])
    for action in (supervisor.start, supervisor.stop, supervisor.restart):
        with pytest.raises(UnknownProcess, match=r"'/bin/sh' is managed here.*known: known"):
            action("/bin/sh")


def test_new_specs_stop_removed_and_changed_processes(make_supervisor: MakeSupervisor) -> None:
    supervisor = make_supervisor()
    supervisor.set_specs([child_spec("stays"), child_spec("goes"), child_spec("changes")])
    supervisor.start_all()
    pids = {p["name"]: p["pid"] for p in supervisor.describe()}
    changes = supervisor.set_specs(
        [child_spec("stays"), child_spec("changes", "--delay", "0"), child_spec("new")]
    )
    assert changes == {"added": ["new"], "removed": ["goes"], "changed": ["changes"]}
    assert not psutil.pid_exists(pids["goes"]) and not psutil.pid_exists(pids["changes"])
    states = {p["name"]: (p["state"], p["pid"]) for p in supervisor.describe()}
    assert states["stays"] == ("running", pids["stays"])
    assert states["changes"][0] == states["new"][0] == "stopped"


def test_ports_are_pinned_and_links_filled_from_ready_lines(
    make_supervisor: MakeSupervisor, tmp_path: Path
) -> None:
    supervisor = make_supervisor()
    sim = child_spec(
        "sim", "--simulator", "--port", "0", ready="simulator", pins=(Pin("transport", "--port"),)
    )
    server = child_spec(
        "server",
        "--crash-once",
        str(tmp_path / "crashed"),
        after=("sim",),
        pins=(Pin("commands", "--endpoint", "tcp://127.0.0.1:"),),
        link=Link("sim", "transport", "--transport"),
    )
    supervisor.set_specs([sim, server])
    supervisor.start_all()
    process = supervisor.get("server")
    assert wait_until(lambda: process.restarts == 1 and process.state == State.RUNNING, 10.0)
    argv = process.describe()["command"]
    assert argv[argv.index("--transport") + 1] == "tcp://127.0.0.1:45679"
    assert argv[argv.index("--endpoint") + 1] == "tcp://127.0.0.1:45678"  # pinned at the crash
    assert "--port" in supervisor.get("sim").describe()["command"]


def test_a_link_to_a_process_not_running_is_a_failed_start(make_supervisor: MakeSupervisor) -> None:
    supervisor = make_supervisor(max_restarts=0)
    supervisor.set_specs(
        [
            child_spec("sim", "--simulator"),
            child_spec("server", link=Link("sim", "transport", "-t")),
        ]
    )
    process = supervisor.start("server")
    assert process["state"] == "failed"
    assert "needs sim to be running first" in process["last_stderr"][0]
