"""The scheduler service: runs the jobs of the current Setup's ``schedules`` section.

Its commands are declared on :class:`Scheduler` like any device's, so
``make_proxy(Scheduler, endpoint)`` gives a client with the same methods.
The jobs come from the Setup the configuration manager has loaded (the format
is in :mod:`.schedules`), followed as :mod:`controlroom.services.setupdriven`
says: a new Setup reschedules the jobs.

Jobs publish ``job_started`` and ``job_ended`` events to the listeners.

The program that builds it chooses how jobs run (see
:class:`~controlroom.services.setupdriven.Runner`):
``python -m controlroom.processes.service scheduler`` (or ``controlroom
scheduler run``) opens observations around building blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Unpack

from controlroom.device import command
from controlroom.rpc import ControlServer, Proxy
from controlroom.rpc.access import check_role
from controlroom.rpc.endpoints import ServerEndpoints
from controlroom.services.control import service_server
from controlroom.services.scheduler.jobs import JobBook, build_jobs, describe_refused
from controlroom.services.scheduler.schedules import parse_schedules
from controlroom.services.setupdriven import (
    FOLLOW_S,
    Runner,
    SetupDriven,
    SetupFollower,
    allowed_packages,
    confman_proxy,
    setup_id_of,
)

NAME = "scheduler"

log = logging.getLogger(__name__)


class Scheduler(SetupDriven):
    """The scheduled jobs of the current Setup, and what operators do with them."""

    status_min_period_s = 0.01
    hk_min_period_s = 0.01

    def __init__(self, book: JobBook, confman: Proxy, allowed: Iterable[str]) -> None:
        super().__init__(confman, allowed)
        self.book = book
        self.refused: dict[str, str] = {}

    @command(access="read")
    def list_jobs(self) -> list[dict[str, Any]]:
        """Every job of the current Setup: schedule, next run, pause, last outcome, refusal."""
        return [*self.book.describe(), *describe_refused(self.refused)]

    @command(access="command")
    def run_now(self, job: str) -> dict[str, Any]:
        """Queue one run of JOB now (behind a job that is running), whatever its schedule."""
        return self.book.run_now(job)

    @command(access="command")
    def pause(self, job: str) -> dict[str, Any]:
        """Stop the scheduled runs of JOB until resume (a Setup reload keeps it paused)."""
        return self.book.pause(job)

    @command(access="command")
    def resume(self, job: str) -> dict[str, Any]:
        """Schedule JOB again from its next time."""
        return self.book.resume(job)

    @command(access="command")
    def reload(self) -> dict[str, Any]:
        """Fetch the current Setup from the configuration manager and schedule its jobs."""
        return self.load(self.fetch_setup())

    def load(self, setup: Mapping[str, Any] | None) -> dict[str, Any]:
        """Schedule the jobs of ``setup``; a malformed section leaves the jobs as they were."""
        with self._lock:
            self.attempted = setup_id_of(setup)  # a Setup that fails to load is not retried
            specs, refused = parse_schedules(setup)
            self.book.replace(build_jobs(specs, self.allowed_packages))
            self.refused = refused
            self.setup_id = setup_id_of(setup)
        log.info("Setup %s: jobs %s", self.setup_id, ", ".join(self.book.names()) or "none")
        return self.summary()

    def summary(self) -> dict[str, Any]:
        jobs = self.book.describe()
        refused = {j["name"]: j["refused"] for j in jobs if j["refused"]} | self.refused
        return {"setup_id": self.setup_id, "jobs": [j["name"] for j in jobs], "refused": refused}

    def status(self) -> dict[str, Any]:
        jobs = self.book.describe()
        return {
            "setup_id": self.setup_id,
            "jobs": len(jobs),
            "running": [j["name"] for j in jobs if j["running"]],
            "failures": sum(j["failures"] for j in jobs),
        }

    def housekeeping(self) -> dict[str, Any]:
        jobs = self.book.describe()
        return {"jobs": len(jobs), "runs": sum(j["runs"] for j in jobs)}

    def connect(self) -> None:
        self.book.start()

    def disconnect(self) -> None:
        self.book.shutdown()
        super().disconnect()


def build_server(
    settings: Mapping[str, Any],
    *,
    runner: Runner,
    confman: str | None = None,
    follow_s: float = FOLLOW_S,
    **where: Unpack[ServerEndpoints],
) -> ControlServer:
    """The scheduler's control server, on the Settings' endpoints unless given."""
    proxy = confman_proxy(settings, confman)
    book = JobBook(runner, proxy.endpoint, role=jobs_role(settings))
    scheduler = Scheduler(book, proxy, allowed_packages(settings, NAME))
    server = service_server(settings, NAME, scheduler, **where)
    book.notify = server.notify
    SetupFollower(server, scheduler, follow_s).attach()
    return server


def jobs_role(settings: Mapping[str, Any]) -> str:
    """The role the jobs' calls are checked against: ``services.scheduler.role`` (operator)."""
    entry = (settings.get("services") or {}).get(NAME) or {}
    return check_role(entry.get("role") or "operator")
