"""The schedules section of a Setup, crontab expressions, and the allow-listed import of jobs."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pytest

from controlroom.services.scheduler.crontab import cron_trigger, day_of_week
from controlroom.services.scheduler.errors import ScheduleError
from controlroom.services.scheduler.jobs import build_jobs
from controlroom.services.scheduler.schedules import JobSpec, parse_schedules

SETUP = {
    "_meta": {"id": 12},
    "schedules": {
        "nightly_warmup": {
            "cron": "0 2 * * *",
            "run": "scheduler_jobs:warm_up",
            "kwargs": {"output": 1, "target": 293.0},
            "observation": "Nightly warm-up",
            "timezone": "UTC",
        },
        "snapshot": {"cron": "*/15 8-18 * * 1-5", "run": "scheduler_jobs:save_snapshot"},
        "typo": {"cron": "0 2 * * *", "run": "scheduler_jobs:broken", "kwarg": {}},
        "bad_cron": {"cron": "0 25 * * *", "run": "scheduler_jobs:broken"},
        "short_cron": {"cron": "0 2 * *", "run": "scheduler_jobs:broken"},
        "bad_zone": {"cron": "0 2 * * *", "run": "scheduler_jobs:broken", "timezone": "Mars/Base"},
        "no_run": {"cron": "0 2 * * *"},
    },
}
START = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # a Monday, noon


def test_jobs_are_read_from_the_setup_and_bad_entries_refused_one_by_one() -> None:
    specs, refused = parse_schedules(SETUP)
    assert [s.name for s in specs] == ["nightly_warmup", "snapshot"]
    warmup = specs[0]
    assert warmup == JobSpec(
        "nightly_warmup",
        "0 2 * * *",
        "scheduler_jobs:warm_up",
        {"output": 1, "target": 293.0},
        "Nightly warm-up",
        "UTC",
    )
    assert specs[1].kwargs == {} and specs[1].observation is None and specs[1].enabled
    assert set(refused) == {"typo", "bad_cron", "short_cron", "bad_zone", "no_run"}
    assert "unknown key(s) ['kwarg']" in refused["typo"]
    assert "hour" in refused["bad_cron"]
    assert "expected 5" in refused["short_cron"]
    assert "Mars/Base" in refused["bad_zone"]
    assert "run must be a non-empty string" in refused["no_run"]


def test_a_setup_without_schedules_has_no_jobs_and_a_malformed_section_is_refused() -> None:
    assert parse_schedules({"_meta": {"id": 1}}) == ([], {})
    assert parse_schedules(None) == ([], {})
    with pytest.raises(ScheduleError, match="must map job names"):
        parse_schedules({"schedules": ["nightly"]})


def test_the_cron_trigger_fires_at_the_next_matching_time() -> None:
    trigger = cron_trigger("0 2 * * *", "UTC")
    assert trigger.get_next_fire_time(None, START) == datetime(2025, 3, 4, 2, 0, tzinfo=UTC)
    every_quarter = cron_trigger("*/15 8-18 * * 1-5", "UTC")
    first = every_quarter.get_next_fire_time(None, START)
    assert first == START
    second = every_quarter.get_next_fire_time(first, first + timedelta(seconds=1))
    assert second == START + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("field", "weekdays"),
    [
        ("0", {6}),  # cron's 0 is Sunday (APScheduler's 0 would be Monday)
        ("7", {6}),
        ("1-5", {0, 1, 2, 3, 4}),
        ("sat,sun", {5, 6}),
        ("0-2", {6, 0, 1}),
        ("*/2", {6, 1, 3, 5}),  # Sunday, Tuesday, Thursday, Saturday
        ("5-7", {4, 5, 6}),
        ("*", set(range(7))),
    ],
)
def test_weekdays_are_those_of_cron(field: str, weekdays: set[int]) -> None:
    trigger = cron_trigger(f"0 2 * * {field}", "UTC")
    fired, when = set(), START
    for _ in range(14):
        when = trigger.get_next_fire_time(when, when + timedelta(seconds=1))
        fired.add(when.weekday())  # Python: Monday is 0
    assert fired == weekdays


def test_impossible_weekdays_are_refused() -> None:
    for field in ("8", "3-1", "*/0", "funday"):
        with pytest.raises(ScheduleError, match="day of week"):
            day_of_week(field)


def refusal(run: str, allowed: str = "scheduler_jobs") -> str | None:
    """Why the job that runs ``run`` was refused (None: it was not)."""
    [job] = build_jobs([JobSpec("job", "0 2 * * *", run)], [allowed])
    return job.refused


def test_a_job_is_imported_only_from_an_allowed_package() -> None:
    assert refusal("scheduler_jobs:save_snapshot") is None
    assert "not in an allowed package" in (refusal("scheduler_jobs_evil:run") or "")
    assert "not in an allowed package" in (refusal("os:system", "controlroom.devices") or "")
    assert "private" in (refusal("scheduler_jobs:_obsid") or "")
    assert "cannot import" in (refusal("scheduler_jobs:missing") or "")
    assert "not a function" in (refusal("scheduler_jobs:DONE") or "")


@pytest.mark.parametrize("name", ["current_observation", "building_block", "queue.SimpleQueue"])
def test_a_name_the_jobs_module_only_imported_is_refused(name: str) -> None:
    # scheduler_jobs imports these; it does not define them.
    assert "not defined in an allowed package" in (refusal(f"scheduler_jobs:{name}") or "")


def test_a_refused_import_never_runs_the_module() -> None:
    spec = JobSpec("evil", "0 2 * * *", "controlroom_untrusted_module:run")
    [job] = build_jobs([spec], ["controlroom.devices"])
    assert job.target is None
    assert "not in an allowed package" in (job.refused or "")
    assert "controlroom_untrusted_module" not in sys.modules
