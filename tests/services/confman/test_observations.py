"""Observations: unique obsids that survive restarts, one running at a time."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from controlroom.services.confman import observations
from controlroom.services.confman.errors import ObservationError, StateFileError
from controlroom.services.confman.observations import ObservationLog, format_obsid, parse_obsid


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "confman" / "state.json"


def test_obsids_carry_the_site_and_a_counter() -> None:
    assert format_obsid("LAB", 42) == "LAB_00042"
    assert format_obsid("CSL-2", 123456) == "CSL-2_123456"
    assert parse_obsid("LAB_00042") == ("LAB", 42)
    with pytest.raises(ValueError, match="not an obsid"):
        parse_obsid("LAB-42")


def test_start_end_and_current(state_path: Path) -> None:
    log = ObservationLog(state_path, "LAB")
    assert log.current() is None
    started = log.start("cold functional test", setup_id=3)
    assert started.obsid == "LAB_00001" and started.setup_id == 3
    assert log.current() == started
    ended = log.end()
    assert ended.obsid == "LAB_00001" and ended.ended is not None
    assert ended.started == started.started
    assert log.current() is None
    assert log.start("second", None).obsid == "LAB_00002"


def test_a_second_start_is_refused_naming_the_running_obsid(state_path: Path) -> None:
    log = ObservationLog(state_path, "LAB")
    log.start("first", None)
    with pytest.raises(ObservationError, match="observation LAB_00001 is running"):
        log.start("second", None)
    assert log.current() is not None and log.current().description == "first"  # type: ignore[union-attr]


def test_end_without_an_observation_is_refused(state_path: Path) -> None:
    with pytest.raises(ObservationError, match="no observation is running"):
        ObservationLog(state_path, "LAB").end()


def test_everything_survives_a_restart(state_path: Path) -> None:
    before = ObservationLog(state_path, "LAB")
    before.start("first", None)
    before.end()
    before.set_setup_id(12)
    running = before.start("runs across the restart", 12)
    after = ObservationLog(state_path, "LAB")  # a new process reads the same file
    assert after.current() == running
    assert after.setup_id == 12
    with pytest.raises(ObservationError, match="LAB_00002"):
        after.start("refused after the restart too", 12)
    after.end()
    assert after.start("third", 12).obsid == "LAB_00003"  # never reused


def test_counters_are_per_site(state_path: Path) -> None:
    ObservationLog(state_path, "LAB").start("lab", None)
    other = ObservationLog(state_path, "CSL")
    other.end()  # the running observation is the installation's, whatever the site
    assert other.start("csl", None).obsid == "CSL_00001"


def test_concurrent_starts_give_one_observation(state_path: Path) -> None:
    logs = [ObservationLog(state_path, "LAB") for _ in range(8)]
    outcomes: list[str] = []

    def start(log: ObservationLog) -> None:
        try:
            outcomes.append(log.start("race", None).obsid)
        except ObservationError:
            outcomes.append("refused")

    threads = [threading.Thread(target=start, args=(log,)) for log in logs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["LAB_00001"] + ["refused"] * 7


def test_the_state_file_is_json_and_replaced_whole(state_path: Path) -> None:
    log = ObservationLog(state_path, "LAB")
    log.start("first", 4)
    data = json.loads(state_path.read_text())
    assert data["current"]["obsid"] == "LAB_00001"
    assert data["last_obs_number"] == {"LAB": 1}
    leftovers = [p.name for p in state_path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_corrupt_state_file_is_reported_not_reset(state_path: Path) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_text("{not json")
    with pytest.raises(StateFileError, match="not valid JSON"):
        ObservationLog(state_path, "LAB").start("x", None)
    assert state_path.read_text() == "{not json"  # counters are never silently lost


def test_a_site_that_cannot_be_part_of_an_obsid_is_refused(state_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be part of an obsid"):
        ObservationLog(state_path, "MY SITE")


def test_recent_lists_the_running_then_the_ended_newest_first(state_path: Path) -> None:
    log = ObservationLog(state_path, "LAB")
    assert log.recent(10) == []
    for description in ("first", "second"):
        log.start(description, 3)
        log.end()
    running = log.start("third", 4)
    listed = log.recent(10)
    assert [o.obsid for o in listed] == ["LAB_00003", "LAB_00002", "LAB_00001"]
    assert listed[0] == running and listed[1].ended is not None
    assert [o.obsid for o in log.recent(2)] == ["LAB_00003", "LAB_00002"]
    assert log.recent(0) == []
    with pytest.raises(ValueError, match="limit must be 0 or more"):
        log.recent(-1)
    assert log.find("LAB_00001") == listed[2]
    assert log.find("LAB_00009") is None


def test_the_history_is_bounded(state_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observations, "HISTORY_KEPT", 3)
    log = ObservationLog(state_path, "LAB")
    for _ in range(5):
        log.start("short", None)
        log.end()
    assert [o.obsid for o in log.recent(10)] == ["LAB_00005", "LAB_00004", "LAB_00003"]


def test_a_state_file_without_a_history_lists_its_last_observation(state_path: Path) -> None:
    state_path.parent.mkdir(parents=True)
    last = {
        "obsid": "LAB_00007",
        "site": "LAB",
        "description": "old",
        "setup_id": 1,
        "started": "2024-05-01T12:00:00.000+00:00",
        "ended": "2024-05-01T13:00:00.000+00:00",
    }
    state_path.write_text(json.dumps({"last_obs_number": {"LAB": 7}, "last_observation": last}))
    log = ObservationLog(state_path, "LAB")
    assert [o.to_dict() for o in log.recent(5)] == [last]
    log.start("new", None)
    log.end()
    assert [o.obsid for o in log.recent(5)] == ["LAB_00008", "LAB_00007"]
