"""The jobs of the current Setup, on an APScheduler background scheduler.

Jobs run one at a time on one worker thread: building blocks run inside
observations, and the configuration manager runs one observation at a time.
A job still running when its next time comes is skipped (and logged by
APScheduler), runs missed while the process was down are not caught up, and
``run_now`` queues one extra run behind the one in progress.

What a job runs is decided by the :class:`~controlroom.services.setupdriven.Runner`
the program that starts the service passes; ``controlroom scheduler run``
passes the one that opens an observation around building blocks.

A job runs as ``scheduler:<job>`` with the scheduler's role
(``services.scheduler.role``): every call its code makes through a proxy
(the observation it opens, the devices it commands) carries that identity,
so each control server checks the role and journals
``scheduler:nightly_warmup via scheduler (key lab)``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from controlroom.config.importing import NamedImportError, import_callable
from controlroom.rpc.proxy import acting_for
from controlroom.services.scheduler.errors import JobRefused, UnknownJob
from controlroom.services.scheduler.schedules import JobSpec
from controlroom.services.setupdriven import Runner

log = logging.getLogger(__name__)

MISFIRE_GRACE_S = 60  # a run this late (a busy or suspended host) still happens
VIA = "scheduler"
Notify = Callable[[str, dict[str, Any]], None]


def _nothing(event: str, data: dict[str, Any]) -> None:
    """Where job events go until the book is attached to a server."""


@dataclass
class JobStats:
    """What happened to a job so far; kept when a reload brings the same name back."""

    runs: int = 0
    failures: int = 0
    running: bool = False
    last_started: float | None = None
    last_ended: float | None = None
    last_outcome: str | None = None  # "ok" or "error"
    last_error: str | None = None


@dataclass
class Job:
    """One job: its entry, the function it runs (None if refused), and its history."""

    spec: JobSpec
    target: Callable[..., Any] | None
    refused: str | None = None
    stats: JobStats = field(default_factory=JobStats)


def build_jobs(specs: Iterable[JobSpec], allowed: Iterable[str]) -> list[Job]:
    """A job per entry, its function imported; an entry that cannot be is kept, refused."""
    packages = tuple(allowed)
    jobs = []
    for spec in specs:
        try:
            jobs.append(Job(spec, import_callable(spec.run, packages)))
        except NamedImportError as exc:
            log.error("job %s refused: %s", spec.name, exc)
            jobs.append(Job(spec, None, refused=str(exc)))
    return jobs


class JobBook:
    """The scheduled jobs, by name; runs them through ``runner`` on one worker thread."""

    def __init__(
        self, runner: Runner, confman: str, *, role: str = "operator", notify: Notify = _nothing
    ) -> None:
        self.runner = runner
        self.confman = confman
        self.role = role  # of every job's calls, checked at each control server
        self.notify = notify
        self._jobs: dict[str, Job] = {}
        self._paused: set[str] = set()  # paused by an operator; kept across reloads
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._aps = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        running = [job.spec.name for job in self._jobs.values() if job.stats.running]
        if running:
            log.warning("stopping while %s runs; it is abandoned", ", ".join(running))
        self._aps.shutdown(wait=False)  # a building block may run for hours

    def replace(self, jobs: Iterable[Job]) -> None:
        """Make ``jobs`` the scheduled ones; a name seen before keeps its history and pause."""
        with self._lock:
            old, self._jobs = self._jobs, {}
            for name in old:  # the cron jobs; a run_now already queued still happens
                if self._aps.get_job(name) is not None:
                    self._aps.remove_job(name)
            for job in jobs:
                if job.spec.name in old:
                    job.stats = old[job.spec.name].stats
                self._jobs[job.spec.name] = job
                if job.refused is None:
                    self._add(job)

    def _add(self, job: Job) -> None:
        paused = job.spec.name in self._paused or not job.spec.enabled
        options: dict[str, Any] = {"next_run_time": None} if paused else {}
        self._aps.add_job(
            self._execute,
            job.spec.trigger(),
            args=[job],
            id=job.spec.name,
            name=job.spec.name,
            misfire_grace_time=MISFIRE_GRACE_S,
            **options,
        )

    def job(self, name: str) -> Job:
        with self._lock:
            found = self._jobs.get(name)
        if found is None:
            known = ", ".join(sorted(self._jobs)) or "none"
            raise UnknownJob(f"no job {name!r} in the current Setup (jobs: {known})")
        return found

    def names(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    def run_now(self, name: str) -> dict[str, Any]:
        """Queue one run of ``name`` now, whatever its schedule or pause."""
        job = self._runnable(name)
        self._aps.add_job(self._execute, "date", args=[job], id=f"{name}@now-{next(self._ids)}")
        return {"job": name, "queued": time.time()}

    def pause(self, name: str) -> dict[str, Any]:
        """No more scheduled runs of ``name`` until :meth:`resume` (also across reloads)."""
        self._runnable(name)
        with self._lock:
            self._paused.add(name)
            self._aps.pause_job(name)
        return self.describe_job(name)

    def resume(self, name: str) -> dict[str, Any]:
        """Schedule ``name`` again from its next cron time."""
        job = self._runnable(name)
        with self._lock:
            self._paused.discard(name)
            if job.spec.enabled:
                self._aps.resume_job(name)
        return self.describe_job(name)

    def _runnable(self, name: str) -> Job:
        job = self.job(name)
        if job.refused is not None:
            raise JobRefused(f"job {name!r} was refused when the Setup was loaded: {job.refused}")
        return job

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:  # a reload on another thread must not remove a name half-way
            return [self.describe_job(name) for name in self._jobs]

    def describe_job(self, name: str) -> dict[str, Any]:
        job = self.job(name)
        scheduled = self._aps.get_job(name) if job.refused is None else None
        next_run = getattr(scheduled, "next_run_time", None)
        return {
            **job.spec.describe(),
            "refused": job.refused,
            "paused": next_run is None,
            "next_run": next_run.isoformat() if next_run is not None else None,
            **vars(job.stats),
        }

    def _execute(self, job: Job) -> None:
        """One run, on the worker thread: through the runner, counted, never raising."""
        assert job.target is not None
        stats, name = job.stats, job.spec.name
        stats.running, stats.last_started = True, time.time()
        self.notify("job_started", {"job": name})
        try:
            with acting_for({"user": f"{VIA}:{name}", "role": self.role, "via": VIA}):
                self.runner(
                    job.target,
                    dict(job.spec.kwargs),
                    observation=job.spec.observation,
                    confman=self.confman,
                )
        except Exception as exc:
            stats.failures += 1
            stats.last_outcome, stats.last_error = "error", f"{type(exc).__name__}: {exc}"
            log.exception("job %s failed", name)
        else:
            stats.last_outcome, stats.last_error = "ok", None
        finally:
            stats.runs += 1
            stats.running, stats.last_ended = False, time.time()
        self.notify("job_ended", {"job": name, "outcome": stats.last_outcome})


def describe_refused(refused: Mapping[str, str]) -> list[dict[str, Any]]:
    """Entries refused before they became jobs (malformed), as ``list_jobs`` shows them."""
    return [{"name": name, "refused": reason, "paused": True} for name, reason in refused.items()]
