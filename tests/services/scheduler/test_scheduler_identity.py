"""A scheduled job commands as ``scheduler:<job>`` with the scheduler's role, at every server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
import scheduler_jobs

from controlroom.device.proxy import make_proxy
from controlroom.rpc import ControlServer, FunctionTable
from controlroom.rpc.hooks import CommandRecord
from controlroom.services.scheduler.server import Scheduler
from controlroom.testing.waiting import wait_until

if TYPE_CHECKING:  # fixtures' types only: several conftest modules share that name
    from conftest import StandInConfman

Confman = tuple["StandInConfman", ControlServer]
NEVER_SOON = "0 0 1 1 *"


def _journaled(server: ControlServer) -> list[CommandRecord]:
    journal: list[CommandRecord] = []
    server.hooks.command_observers.append(journal.append)
    return journal


@pytest.fixture(autouse=True)
def nothing_done_yet() -> None:
    while not scheduler_jobs.DONE.empty():
        scheduler_jobs.DONE.get_nowait()


@pytest.fixture
def bench() -> Iterator[ControlServer]:
    server = ControlServer("bench", FunctionTable({"set_offset": lambda value: value}))
    server.start()
    yield server
    server.stop()


def _run_once(
    confman: Confman, start_scheduler: Callable[..., ControlServer], job: dict[str, object], **o
) -> dict[str, object]:
    """Run ``job`` (named ``bench_job``) once now; its description once it ended."""
    state, _ = confman
    state.add(1, {"bench_job": job})
    state.setup_id = 1
    with make_proxy(Scheduler, start_scheduler(**o).endpoint, timeout=5.0) as scheduler:
        assert wait_until(lambda: [j["name"] for j in scheduler.list_jobs()] == ["bench_job"])
        scheduler.run_now("bench_job")
        assert wait_until(lambda: scheduler.list_jobs()[0]["runs"] == 1)
        return dict(scheduler.list_jobs()[0])


def test_a_jobs_commands_and_its_observation_are_journaled_as_the_job(
    confman: Confman, start_scheduler: Callable[..., ControlServer], bench: ControlServer
) -> None:
    bench_journal, confman_journal = _journaled(bench), _journaled(confman[1])
    job = {
        "cron": NEVER_SOON,
        "run": "scheduler_jobs:set_bench",
        "kwargs": {"endpoint": bench.endpoint, "value": 2.5},
        "observation": "Bench check",
    }
    described = _run_once(confman, start_scheduler, job)
    assert described["last_outcome"] == "ok"
    who = "scheduler:bench_job via scheduler (key anonymous)"
    assert [(r.command, r.caller, r.ok) for r in bench_journal] == [("set_offset", who, True)]
    observed = [(r.command, r.caller) for r in confman_journal if r.command.endswith("observation")]
    assert observed == [("start_observation", who), ("end_observation", who)]


def test_the_jobs_role_comes_from_the_settings_and_the_server_checks_it(
    confman: Confman, start_scheduler: Callable[..., ControlServer], bench: ControlServer
) -> None:
    bench_journal = _journaled(bench)
    job = {
        "cron": NEVER_SOON,
        "run": "scheduler_jobs:set_bench",
        "kwargs": {"endpoint": bench.endpoint, "value": 2.5},
    }
    described = _run_once(confman, start_scheduler, job, role="viewer")
    assert described["last_outcome"] == "error"
    assert "scheduler:bench_job via scheduler (key anonymous) (viewer)" in str(
        described["last_error"]
    )
    assert "needs the operator role" in str(described["last_error"])
    assert [(r.caller, r.ok) for r in bench_journal] == [
        ("scheduler:bench_job via scheduler (key anonymous)", False)
    ]
