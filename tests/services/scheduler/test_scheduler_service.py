"""The scheduler service against a stand-in configuration manager, in this process."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import scheduler_jobs
import yaml

from controlroom.config.settings import LOCAL_SETTINGS_ENV
from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.rpc import ControlServer, Proxy, RemoteError
from controlroom.services.scheduler.server import Scheduler
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.processes import ServerProcess
from controlroom.testing.waiting import wait_until

if TYPE_CHECKING:  # fixtures' types only: several conftest modules share that name
    from conftest import StandInConfman

Confman = tuple["StandInConfman", ControlServer]
NEVER_SOON = "0 0 1 1 *"  # New Year's midnight: never while a test runs
WARM_UP = {
    "cron": NEVER_SOON,
    "run": "scheduler_jobs:warm_up",
    "kwargs": {"output": 1, "target": 293.0},
    "observation": "Nightly warm-up",
}
SNAPSHOT = {"cron": NEVER_SOON, "run": "scheduler_jobs:save_snapshot"}


@pytest.fixture(autouse=True)
def nothing_done_yet() -> None:
    while not scheduler_jobs.DONE.empty():
        scheduler_jobs.DONE.get_nowait()


@pytest.fixture
def client() -> Iterator[Callable[[ControlServer], DeviceProxy]]:
    made: list[DeviceProxy] = []

    def make(server: ControlServer) -> DeviceProxy:
        made.append(make_proxy(Scheduler, server.endpoint, timeout=5.0))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def jobs_of(proxy: DeviceProxy) -> dict[str, dict[str, Any]]:
    return {job["name"]: job for job in proxy.list_jobs()}


def test_the_jobs_of_the_current_setup_are_scheduled(
    confman: Confman, start_scheduler: Callable[..., ControlServer], client: Callable[..., Any]
) -> None:
    state, _ = confman
    state.add(1, {"nightly_warmup": WARM_UP, "snapshot": {**SNAPSHOT, "enabled": False}})
    state.setup_id = 1
    proxy = client(start_scheduler())
    assert wait_until(lambda: set(jobs_of(proxy)) == {"nightly_warmup", "snapshot"})
    jobs = jobs_of(proxy)
    warmup, snapshot = jobs["nightly_warmup"], jobs["snapshot"]
    assert warmup["cron"] == NEVER_SOON
    assert warmup["next_run"].endswith(":00")
    assert "-01-01T00:00:00" in warmup["next_run"]
    assert (warmup["paused"], warmup["runs"], warmup["refused"]) == (False, 0, None)
    assert (snapshot["paused"], snapshot["next_run"]) == (True, None)  # enabled: false
    assert proxy.get_status()  # the server publishes its status
    assert wait_until(lambda: (proxy.get_status() or {}).get("values", {}).get("setup_id") == 1)


def test_run_now_runs_a_building_block_inside_an_observation(
    confman: Confman, start_scheduler: Callable[..., ControlServer], client: Callable[..., Any]
) -> None:
    state, _ = confman
    state.add(1, {"nightly_warmup": WARM_UP})
    state.setup_id = 1
    proxy = client(start_scheduler())
    assert wait_until(lambda: "nightly_warmup" in jobs_of(proxy))
    proxy.run_now("nightly_warmup")
    done = scheduler_jobs.DONE.get(timeout=5.0)
    assert done == ("warm_up", {"output": 1, "target": 293.0}, "LAB_00001")
    assert wait_until(lambda: len(state.calls) == 2)
    assert state.calls == [
        ("start_observation", "Nightly warm-up", "LAB_00001"),
        ("end_observation", "LAB_00001"),
    ]
    assert wait_until(lambda: jobs_of(proxy)["nightly_warmup"]["runs"] == 1)
    job = jobs_of(proxy)["nightly_warmup"]
    assert (job["last_outcome"], job["failures"], job["running"]) == ("ok", 0, False)


def test_a_plain_function_runs_without_an_observation_unless_asked(
    confman: Confman, start_scheduler: Callable[..., ControlServer], client: Callable[..., Any]
) -> None:
    state, _ = confman
    described = {**SNAPSHOT, "kwargs": {"label": "noon"}, "observation": "Snapshot"}
    state.add(1, {"plain": SNAPSHOT, "observed": described})
    state.setup_id = 1
    proxy = client(start_scheduler())
    assert wait_until(lambda: len(jobs_of(proxy)) == 2)
    proxy.run_now("plain")
    assert scheduler_jobs.DONE.get(timeout=5.0) == ("save_snapshot", {"label": "nightly"}, None)
    proxy.run_now("observed")
    assert scheduler_jobs.DONE.get(timeout=5.0) == ("save_snapshot", {"label": "noon"}, "LAB_00001")
    assert wait_until(lambda: len(state.calls) == 2)


def test_a_failing_job_is_counted_and_the_others_carry_on(
    confman: Confman, start_scheduler: Callable[..., ControlServer], client: Callable[..., Any]
) -> None:
    state, _ = confman
    state.add(1, {"broken": {"cron": NEVER_SOON, "run": "scheduler_jobs:broken"}, "ok": SNAPSHOT})
    state.setup_id = 1
    proxy = client(start_scheduler())
    assert wait_until(lambda: len(jobs_of(proxy)) == 2)
    proxy.run_now("broken")
    proxy.run_now("ok")
    assert scheduler_jobs.DONE.get(timeout=5.0)[0] == "save_snapshot"
    broken = jobs_of(proxy)["broken"]
    assert (broken["runs"], broken["failures"], broken["last_outcome"]) == (1, 1, "error")
    assert broken["last_error"] == "RuntimeError: the bench is unplugged"


def test_a_job_from_a_package_that_is_not_allowed_is_refused(
    confman: Confman, start_scheduler: Callable[..., ControlServer], client: Callable[..., Any]
) -> None:
    state, _ = confman
    evil = {"cron": NEVER_SOON, "run": "controlroom_not_allowed_pkg.tools:wipe_disk"}
    state.add(1, {"evil": evil, "ok": SNAPSHOT, "typo": {**SNAPSHOT, "crn": "x"}})
    state.setup_id = 1
    proxy = client(start_scheduler())
    assert wait_until(lambda: len(jobs_of(proxy)) == 3)
    jobs = jobs_of(proxy)
    assert "not in an allowed package" in jobs["evil"]["refused"]
    assert "unknown key" in jobs["typo"]["refused"]
    assert jobs["ok"]["refused"] is None
    assert "controlroom_not_allowed_pkg" not in sys.modules
    with pytest.raises(RemoteError, match="refused when the Setup was loaded"):
        proxy.run_now("evil")
    with pytest.raises(RemoteError, match="no job 'nope'"):
        proxy.run_now("nope")


def test_pause_and_resume(
    confman: Confman, start_scheduler: Callable[..., ControlServer], client: Callable[..., Any]
) -> None:
    state, _ = confman
    state.add(1, {"nightly_warmup": WARM_UP})
    state.setup_id = 1
    proxy = client(start_scheduler())
    assert wait_until(lambda: "nightly_warmup" in jobs_of(proxy))
    paused = proxy.pause("nightly_warmup")
    assert (paused["paused"], paused["next_run"]) == (True, None)
    assert proxy.reload()["jobs"] == ["nightly_warmup"]
    assert jobs_of(proxy)["nightly_warmup"]["paused"]  # a reload keeps an operator's pause
    proxy.run_now("nightly_warmup")  # a paused job still runs when asked to
    assert scheduler_jobs.DONE.get(timeout=5.0)[0] == "warm_up"
    resumed = proxy.resume("nightly_warmup")
    assert resumed["paused"] is False
    assert "-01-01T00:00:00" in resumed["next_run"]


def test_a_new_setup_reschedules_the_jobs(
    confman: Confman, start_scheduler: Callable[..., ControlServer], client: Callable[..., Any]
) -> None:
    state, server = confman
    state.add(1, {"nightly_warmup": WARM_UP})
    state.add(2, {"snapshot": SNAPSHOT})
    state.setup_id = 1
    # A slow follow: the event, not the periodic check, must bring the new Setup.
    scheduler = start_scheduler(follow_s=600.0)
    proxy = client(scheduler)
    assert wait_until(lambda: set(jobs_of(proxy)) == {"nightly_warmup"})
    assert wait_until(lambda: server.notifier.describe() != [])  # registered as a listener
    with Proxy(server.endpoint) as confman_client:
        confman_client.call("load_setup", 2)
    assert wait_until(lambda: set(jobs_of(proxy)) == {"snapshot"})
    tasks = proxy.info()["tasks"]["tasks"]
    assert {"follow confman", "load the new Setup"} <= {task["name"] for task in tasks}


def test_the_scheduler_process_announces_itself_and_follows_the_confman(
    confman: Confman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, server = confman
    # The child registers and logs at the Settings' services: ports nobody else uses.
    free = {"commands": _free(), "publish": _free()}
    local = {"services": {"registry": free, "logman": {**free, "records": _free()}}}
    (tmp_path / "local.yaml").write_text(yaml.safe_dump(local))
    monkeypatch.setenv(LOCAL_SETTINGS_ENV, str(tmp_path / "local.yaml"))
    state.add(5, {"probe": {"cron": NEVER_SOON, "run": "controlroom.devices.factory:ALLOWED"}})
    state.setup_id = 5
    loopback = "tcp://127.0.0.1:0"
    argv = [sys.executable, "-m", "controlroom.processes.service", "scheduler"]
    argv += ["--endpoint", loopback, "--pub-endpoint", loopback, "--confman", server.endpoint]
    with ServerProcess(argv) as child, make_proxy(Scheduler, child.endpoint) as proxy:
        assert proxy.ping() == "pong"
        assert wait_until(lambda: "probe" in jobs_of(proxy), 10.0)
        assert "cannot import" in jobs_of(proxy)["probe"]["refused"]
        proxy.quit()
        assert child.wait(5.0) == 0


def _free() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"
