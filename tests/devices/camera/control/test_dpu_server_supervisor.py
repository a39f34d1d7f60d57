"""The processor's supervision: restarted after any exit, with backoff, given up on, stopped.

A small Python child stands in for the processor: it prints the processor's
ready line and waits for a signal (or exits at once, to play a processor
that keeps crashing), so these tests need no FEE.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from controlroom.devices.camera.control import ProcessorStartError
from controlroom.devices.camera.control.supervisor import ProcessorRun, ProcessorSupervisor
from controlroom.rpc.threads import RestartPolicy
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

WAIT_S = 20.0
FAST = RestartPolicy(first_delay_s=0.01, max_delay_s=0.05, max_restarts=2, stable_after_s=60.0)
READY = (
    "import json, os, signal; "
    "print('READY ' + json.dumps({'control': 'tcp://127.0.0.1:1', "
    "'publish': 'tcp://127.0.0.1:2', 'pid': os.getpid()}), flush=True); "
)
WAITS = [sys.executable, "-c", READY + "signal.pause()"]
CRASHES = [sys.executable, "-c", READY + "raise SystemExit('the link broke')"]
NEVER_READY = [sys.executable, "-c", "raise SystemExit('no link to the FEE')"]


@pytest.fixture
def runs() -> list[ProcessorRun]:
    return []


@pytest.fixture
def supervised(runs: list[ProcessorRun], tmp_path: Path) -> Iterator[Any]:
    made: list[ProcessorSupervisor] = []

    def make(argv: list[str]) -> ProcessorSupervisor:
        log = tmp_path / "processor.log"
        supervisor = ProcessorSupervisor(argv, on_ready=runs.append, policy=FAST, log_path=log)
        made.append(supervisor)
        return supervisor

    yield make
    for supervisor in made:
        supervisor.stop(grace_s=2.0)


def test_a_killed_processor_is_started_again_and_handed_over(
    supervised: Any, runs: list[ProcessorRun]
) -> None:
    supervisor = supervised(WAITS)
    first = supervisor.start()
    assert runs == [first] and supervisor.describe()["up"]
    assert psutil.Process(first.pid).cmdline()[:2] == WAITS[:2]
    os.kill(first.pid, signal.SIGKILL)
    assert wait_until(lambda: len(runs) == 2 and supervisor.run is not None, WAIT_S)
    second = runs[1]
    assert second.pid != first.pid and supervisor.run == second
    described = supervisor.describe()
    assert (described["state"], described["restarts"], described["pid"]) == (
        "running", 1, second.pid,
    )  # fmt: skip
    assert described["last_exit"]["code"] == -signal.SIGKILL
    assert described["last_exit"]["how"] == "was killed by SIGKILL"
    supervisor.stop(grace_s=2.0)
    assert supervisor.run is None and supervisor.state == "stopped"
    assert not psutil.pid_exists(second.pid) or psutil.Process(second.pid).status() == "zombie"
    assert supervisor.restarts == 1  # a stop is not followed by a restart


def test_a_requested_restart_is_at_once_and_not_a_crash(
    supervised: Any, runs: list[ProcessorRun]
) -> None:
    supervisor = supervised(WAITS)
    first = supervisor.start()
    second = supervisor.restart()  # returns once the new one runs
    assert second is not None and second.pid != first.pid and runs == [first, second]
    assert supervisor.describe()["restarts"] == 1
    last_exit = supervisor.describe()["last_exit"]
    assert last_exit["pid"] == first.pid and last_exit["requested"]
    assert last_exit["code"] == -signal.SIGTERM


def test_a_processor_that_keeps_exiting_is_given_up_after_max_restarts(
    supervised: Any, runs: list[ProcessorRun]
) -> None:
    supervisor = supervised(CRASHES)
    supervisor.start()
    assert wait_until(lambda: supervisor.state == "failed", WAIT_S), supervisor.describe()
    described = supervisor.describe()
    assert described["restarts"] == FAST.max_restarts and not described["up"]
    last_exit = described["last_exit"]
    assert (last_exit["code"], last_exit["how"]) == (1, "exited with code 1")
    assert last_exit["stderr"][-1] == "the link broke"  # its last words, from its log
    assert len(runs) == FAST.max_restarts + 1
    supervisor.restart()  # an operator asks again: a new series of starts
    assert wait_until(lambda: len(runs) > FAST.max_restarts + 1, WAIT_S)


def test_a_processor_that_never_gets_ready_is_a_clear_start_error(supervised: Any) -> None:
    supervisor = supervised(NEVER_READY)
    reason = r"did not start: .* exited with code 1 before it was ready: no link to the FEE"
    with pytest.raises(ProcessorStartError, match=reason):
        supervisor.start()
    described = supervisor.describe()
    assert described["state"] == "failed" and not described["up"]
    assert described["last_exit"]["how"].startswith("did not start")
