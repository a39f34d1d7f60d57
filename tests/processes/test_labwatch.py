"""The supervisor of the process manager, without processes: when it restarts, when it ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controlroom.processes.detached import LocalState
from controlroom.processes.entry import ProcessError
from controlroom.processes.labwatch import CrashRow, supervise
from controlroom.services.procman.policy import Policy
from controlroom.services.procman.stopmark import StopMark


def _state(tmp_path: Path, **procman: Any) -> LocalState:
    """Just enough Settings: where the state is, and the process manager's policy."""
    services = {"procman": {"commands": "tcp://127.0.0.1:0", **procman}}
    return LocalState({"services": services, "locations": {"state": str(tmp_path / "state")}})


def test_restarts_back_off_and_give_up_after_too_many_in_a_row() -> None:
    crashes = CrashRow(Policy(backoff_s=1.0, backoff_max_s=3.0, max_restarts=3, stable_s=60.0))
    assert [crashes.next_delay(5.0) for _ in range(4)] == [1.0, 2.0, 3.0, None]


def test_a_run_of_stable_s_ends_the_row() -> None:
    crashes = CrashRow(Policy(backoff_s=1.0, max_restarts=1, stable_s=60.0))
    assert crashes.next_delay(None) == 1.0  # never ran: still a crash in the row
    assert crashes.next_delay(60.0) == 1.0
    assert crashes.next_delay(1.0) is None


def test_a_process_manager_stopped_on_purpose_is_not_started_again(tmp_path: Path) -> None:
    state = _state(tmp_path)
    StopMark.of(state.settings).set("controlroom down")
    said: list[str] = []
    assert supervise(state, said.append) == "controlroom down"
    assert said == []  # nothing restarted, nothing to say


def test_a_supervisor_that_may_not_restart_gives_up_at_once(tmp_path: Path) -> None:
    state = _state(tmp_path, max_restarts=0)
    with pytest.raises(
        ProcessError, match=r"crashed 1 time\(s\) in a row, more than .*max_restarts \(0\)"
    ) as error:
        supervise(state, print)
    assert "`controlroom down` stops them" in error.value.details[0]
