"""Child processes: ready line, logs per run, stops that reach the group, adoption by PID."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import psutil
import pytest

from controlroom.rpc.child import (
    AdoptedRun,
    Child,
    NotReady,
    live_process,
    start_time,
    stop_process,
    wait_gone,
)

pytestmark = pytest.mark.integration

READY_S = 15.0


IDLE = "import signal; signal.pause()"  # a child that runs until it is signalled


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _ready(line: str) -> str | None:
    return line.removeprefix("READY ") if line.startswith("READY ") else None


def test_the_ready_line_is_found_and_what_follows_goes_to_the_stdout_log(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    log.write_text("an older run\n")
    code = "import sys; print('boot', file=sys.stderr); print('hello\\nREADY go\\nafter')"
    child = Child.spawn("talker", _python(code), log_path=log)
    assert child.wait_ready(_ready, READY_S) == "go"
    assert child.drain() == 0
    assert log.with_suffix(".stdout.log").read_text() == "after\n"
    assert child.stderr_tail() == ["boot"]  # this run only, after its header line
    assert "start:" in log.read_text().splitlines()[1]


def test_a_child_that_exits_first_says_why(tmp_path: Path) -> None:
    code = "import sys; print('first', file=sys.stderr); sys.exit('no config')"
    child = Child.spawn("quitter", _python(code), log_path=tmp_path / "q.log")
    with pytest.raises(NotReady, match="quitter exited with code 1 before it was ready: no config"):
        child.wait_ready(_ready, READY_S)


def test_a_silent_child_is_stopped_after_the_timeout() -> None:
    child = Child.spawn("mute", _python(IDLE), log_path=None)
    with pytest.raises(NotReady, match=r"mute was not ready within 0\.3 s, so it was stopped"):
        child.wait_ready(_ready, 0.3)
    assert child.process.poll() is not None


def test_a_stop_flag_ends_the_wait_for_the_ready_line() -> None:
    child = Child.spawn("mute", _python(IDLE), log_path=None)
    stopping = threading.Event()
    stopping.set()
    try:
        assert child.read_ready(_ready, READY_S, stopping) is None
        assert not child.timed_out
    finally:
        child.stop()


def test_terminate_reaches_what_the_child_started() -> None:
    code = (
        f"import subprocess, sys; nap = subprocess.Popen([sys.executable, '-c', {IDLE!r}]);"
        f"print('READY', nap.pid, flush=True); {IDLE}"
    )
    child = Child.spawn("parent", _python(code), log_path=None)
    grandchild = psutil.Process(int(child.wait_ready(_ready, READY_S)))
    child.stop(grace=0.5)
    assert wait_gone(grandchild, 5.0)


def test_a_recorded_process_is_found_again_only_if_it_is_the_same_one() -> None:
    argv = _python(f"print('READY ok', flush=True); {IDLE}")
    child = Child.spawn("sleeper", argv, log_path=None, detached=True)
    try:
        child.wait_ready(_ready, READY_S)
        child.release()
        created = start_time(child.pid)
        assert created is not None
        assert live_process(child.pid, created, argv) is not None
        assert live_process(child.pid, created - 1.0) is None  # a recycled PID
        assert live_process(child.pid, created, [*argv, "other"]) is None
        found = live_process(child.pid, created)
        assert found is not None
        run = AdoptedRun(found, {"commands": "tcp://x"}, Path("nowhere.log"), 0)
        assert run.read_ready() == {"commands": "tcp://x"}
        run.terminate(grace=2.0)
        assert wait_gone(found, 0.0)
    finally:
        child.stop()


def test_stop_process_stops_a_process_that_ignores_sigterm() -> None:
    code = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
    code += f"; print('READY ok', flush=True); {IDLE}"
    child = Child.spawn("stubborn", _python(code), log_path=None)
    try:
        child.wait_ready(_ready, READY_S)
        assert stop_process(psutil.Process(child.pid), grace=0.3)
    finally:
        child.stop()
