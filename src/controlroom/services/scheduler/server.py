"""The scheduler service: runs the jobs of the current Setup's ``schedules`` section.

Its commands are declared on :class:`Scheduler` like any device's, so
``make_proxy(Scheduler, endpoint)`` gives a client with the same methods.
The jobs come from the Setup the configuration manager has loaded (the format
is in :mod:`.schedules`). The service registers with the configuration
manager for ``new_setup`` and, on that event, a task of the server (never
the command loop nor the events thread) fetches the new Setup back from the
configuration manager and reschedules the jobs. The registration is renewed
every ``follow_s``, which also catches up with a Setup loaded while either of
the two was down.

Jobs publish ``job_started`` and ``job_ended`` events to the listeners.

The program that builds it chooses how jobs run (see :class:`~.jobs.Runner`):
``python -m controlroom.processes.service scheduler`` (or ``controlroom
scheduler run``) opens observations around building blocks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from controlroom.device import Interface, command
from controlroom.rpc import ControlServer, Proxy, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.rpc.events import Event
from controlroom.services.control import service_server
from controlroom.services.scheduler.jobs import JobBook, Runner, build_jobs, describe_refused
from controlroom.services.scheduler.schedules import parse_schedules

NAME = "scheduler"
_NOTHING = object()  # no Setup loaded yet, not even none
FOLLOW_S = 10.0  # how often the registration with the configuration manager is renewed

log = logging.getLogger(__name__)


class Scheduler(Interface):
    """The scheduled jobs of the current Setup, and what operators do with them."""

    status_min_period_s = 0.01
    hk_min_period_s = 0.01

    def __init__(self, book: JobBook, confman: Proxy, allowed_packages: Iterable[str]) -> None:
        self.book = book
        self.confman = confman
        self.allowed_packages = tuple(allowed_packages)
        self.setup_id: int | None = None
        self.attempted: object = _NOTHING  # the Setup id last loaded, or tried to be
        self.refused: dict[str, str] = {}
        self._lock = threading.Lock()

    @command()
    def list_jobs(self) -> list[dict[str, Any]]:
        """Every job of the current Setup: schedule, next run, pause, last outcome, refusal."""
        return [*self.book.describe(), *describe_refused(self.refused)]

    @command()
    def run_now(self, job: str) -> dict[str, Any]:
        """Queue one run of JOB now (behind a job that is running), whatever its schedule."""
        return self.book.run_now(job)

    @command()
    def pause(self, job: str) -> dict[str, Any]:
        """Stop the scheduled runs of JOB until resume (a Setup reload keeps it paused)."""
        return self.book.pause(job)

    @command()
    def resume(self, job: str) -> dict[str, Any]:
        """Schedule JOB again from its next time."""
        return self.book.resume(job)

    @command()
    def reload(self) -> dict[str, Any]:
        """Fetch the current Setup from the configuration manager and schedule its jobs."""
        return self.load(self.fetch_setup())

    def fetch_setup(self) -> Mapping[str, Any] | None:
        """The configuration manager's current Setup (None before its first load_setup)."""
        setup = self.confman.call("get_current_setup")
        return setup if isinstance(setup, Mapping) else None

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
        self.confman.close()


def setup_id_of(setup: Mapping[str, Any] | None) -> int | None:
    meta = (setup or {}).get("_meta")
    return meta.get("id") if isinstance(meta, Mapping) else None


class SetupFollower:
    """Keeps a scheduler on the configuration manager's current Setup."""

    def __init__(self, server: ControlServer, scheduler: Scheduler, every_s: float) -> None:
        self.server = server
        self.scheduler = scheduler
        self.every_s = every_s
        self._reachable = True  # to log an outage once, not every period

    def attach(self) -> None:
        self.server.on_event("new_setup", self._on_new_setup)
        self.server.tasks.schedule(self.follow, every_s=self.every_s, name="follow confman")

    def _on_new_setup(self, event: Event) -> None:
        # The configuration manager is answered at once; the fetch runs as a task.
        self.server.tasks.schedule(self.scheduler.reload, name="load the new Setup")

    def follow(self) -> None:
        """Renew the registration; load the current Setup if it is not the one we have."""
        try:
            self.scheduler.confman.request(
                "register_listener", (self.server.name, self.server.endpoint, ["new_setup"])
            )
            setup = self.scheduler.fetch_setup()
        except RpcError as exc:
            if self._reachable:
                log.warning("the configuration manager does not answer: %s", exc)
            self._reachable = False
            return
        if not self._reachable:
            log.info("the configuration manager answers again")
        self._reachable = True
        if setup_id_of(setup) != self.scheduler.attempted:
            self.scheduler.load(setup)


def build_server(
    settings: Mapping[str, Any],
    *,
    runner: Runner,
    endpoint: str | None = None,
    pub_endpoint: str | None = None,
    confman: str | None = None,
    follow_s: float = FOLLOW_S,
) -> ControlServer:
    """The scheduler's control server, on the Settings' endpoints unless given."""
    services = settings["services"]
    entry = services[NAME]
    confman_at = connectable(confman or str(services["confman"]["commands"]))
    timeout = float((settings.get("defaults") or {}).get("proxy_timeout_s", 5.0))
    allowed = [
        *((settings.get("security") or {}).get("allowed_packages") or ()),
        *(entry.get("allowed_packages") or ()),
    ]
    book = JobBook(runner, confman_at)
    scheduler = Scheduler(book, Proxy(confman_at, name="confman", timeout=timeout), allowed)
    server = service_server(settings, NAME, scheduler, endpoint=endpoint, pub_endpoint=pub_endpoint)
    book.notify = server.notify
    SetupFollower(server, scheduler, follow_s).attach()
    return server
