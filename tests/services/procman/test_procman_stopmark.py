"""The process manager tells an orderly stop from a crash: its stop mark."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from controlroom.config.settings import Settings
from controlroom.rpc import Proxy
from controlroom.services.procman.stopmark import StopMark
from controlroom.testing.processes import ServerProcess

PROCMAN = [sys.executable, "-m", "controlroom.processes.service", "procman"]


def test_the_first_reason_given_is_kept_until_cleared(tmp_path: Path) -> None:
    mark = StopMark(tmp_path / "procman")
    assert mark.reason() is None and not mark.is_set()
    mark.set("controlroom down")
    mark.set("quit, SIGINT or SIGTERM")  # the process manager, once `down`'s quit reaches it
    assert mark.reason() == "controlroom down"
    mark.clear()
    assert mark.reason() is None


def test_an_unreadable_mark_still_means_stopped_on_purpose(tmp_path: Path) -> None:
    mark = StopMark(tmp_path)
    mark.path.write_bytes(b"\xff not json")
    assert mark.reason() == "reason unreadable"


@pytest.mark.integration
@pytest.mark.parametrize("stop", ["quit", "sigterm"])
def test_a_stop_on_purpose_is_marked_and_the_next_start_clears_it(
    settings: Settings, stop: str
) -> None:
    mark = StopMark.of(settings)
    with ServerProcess(PROCMAN) as procman:
        assert mark.reason() is None
        if stop == "quit":
            with Proxy(procman.endpoint, timeout=5.0) as proxy:
                proxy.quit()
        else:
            procman.stop(timeout=30.0)
        assert procman.wait(timeout=30.0) == 0
    assert mark.reason() == "quit, SIGINT or SIGTERM"
    with ServerProcess(PROCMAN):  # ready: serving, so the mark is of the run before
        assert mark.reason() is None


@pytest.mark.integration
def test_a_killed_process_manager_leaves_no_mark(settings: Settings) -> None:
    mark = StopMark.of(settings)
    with ServerProcess(PROCMAN) as procman:
        procman.kill()
        assert procman.wait(timeout=10.0) == -signal.SIGKILL
    assert mark.reason() is None
