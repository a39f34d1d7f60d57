"""The panel's tasks: the current Setup's task modules, their runs, all published to the hub.

:class:`TaskDesk` keeps one :class:`~.taskrunner.TaskRunner` for the life of
the panel (so the history and the device locks survive a new Setup) and
gives it the tasks of the current Setup's ``tasks`` modules on every
:meth:`TaskDesk.load`. What pages see goes through the hub:

* ``tasks/catalog`` -- ``{groups, problems, setup_id}``: the buttons, and why
  a module named in the Setup gave none;
* ``tasks/runs`` -- ``{runs, busy}``: the newest runs (as
  :meth:`~.taskrunner.TaskRun.as_dict`) and which device each run holds;
* ``task/<run id>`` -- ``{run, lines, next, closed}``: the lines of output
  added since the previous message of that topic. A page that needs the lines
  before those reads them from ``GET /api/tasks/runs/<id>/output``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from controlroom.obs.task import TaskSpec, discover_tasks, task_modules, task_packages
from controlroom.web.hub import Hub, Message
from controlroom.web.taskrunner import ObservationStarter, TaskRun, TaskRunner

log = logging.getLogger(__name__)

CATALOG_TOPIC = "tasks/catalog"
RUNS_TOPIC = "tasks/runs"
OUTPUT_KIND = "task"
RUNS_SHOWN = 50
SERVER = "tasks"  # the `server` of the panel's own task messages


def output_topic(run_id: int) -> str:
    return f"{OUTPUT_KIND}/{run_id}"


class TaskDesk:
    """The tasks the current Setup offers and their runs, kept in the hub for every page."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        hub: Hub,
        *,
        observations: ObservationStarter | None = None,
        runner: TaskRunner | None = None,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.runner = runner or TaskRunner([], observations=observations)
        self.problems: list[str] = []
        self.setup_id: object = None
        self._lock = threading.Lock()
        self.runner.on_change(lambda run: self.publish_runs())

    def load(self, setup: Mapping[str, Any] | None) -> None:
        """Offer the tasks of ``setup``'s ``tasks`` modules (none without a Setup)."""
        problems: list[str] = []
        groups: dict[str, list[TaskSpec]] = {}
        try:
            modules = task_modules(setup)
            groups = discover_tasks(modules, task_packages(self.settings), problems=problems)
        except Exception as exc:  # the Setup is the user's text: say what is wrong, keep serving
            problems.append(str(exc))
        for problem in problems:
            log.warning("tasks of the current Setup: %s", problem)
        meta = (setup or {}).get("_meta") or {}
        with self._lock:
            # Runs already started keep their spec; only new submissions see the new tasks.
            self.runner.tasks = {spec.name: spec for group in groups.values() for spec in group}
            self.problems = problems
            self.setup_id = meta.get("id") if isinstance(meta, Mapping) else None
        self.publish_catalog()

    def catalog(self) -> dict[str, Any]:
        with self._lock:
            return {
                "groups": self.runner.groups(),
                "problems": list(self.problems),
                "setup_id": self.setup_id,
            }

    def runs(self) -> dict[str, Any]:
        shown = self.runner.runs()[:RUNS_SHOWN]
        return {"runs": [run.as_dict() for run in shown], "busy": self.runner.busy_devices()}

    def submit(
        self, name: str, arguments: Mapping[str, Any] | None, user: str, role: str
    ) -> TaskRun:
        """Start task ``name`` for ``user`` (whose ``role`` the servers check its calls
        against); its output goes to the hub as it is written."""
        run = self.runner.submit(name, arguments, user=user, role=role)
        OutputPump(self.hub, run).start()
        self.publish_runs()
        return run

    def publish_catalog(self) -> None:
        self._publish(CATALOG_TOPIC, self.catalog())

    def publish_runs(self) -> None:
        self._publish(RUNS_TOPIC, self.runs())

    def _publish(self, topic: str, values: dict[str, Any]) -> None:
        self.hub.publish([Message(topic, SERVER, time.time(), values)])


class OutputPump:
    """Publishes a run's new lines of output as ``task/<id>`` each time some are written."""

    def __init__(self, hub: Hub, run: TaskRun) -> None:
        self.hub = hub
        self.run = run
        self.sent = 0  # number of the last line published
        self.ended = False  # the message saying "closed" went out
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        self._unsubscribe = self.run.output.subscribe(self.pump)
        self.pump()  # lines written before the subscription, or a run already over
        with self._lock:
            if self.ended:  # it may have ended before the subscription was returned
                self._unsubscribe()

    def pump(self) -> None:
        """Runs on the task's thread (the stream's wake-up): must be quick."""
        with self._lock:
            chunk = self.run.output.read(self.sent)
            if not chunk.lines and (self.ended or not chunk.closed):
                return
            self.sent, self.ended = chunk.next, chunk.closed
            values = {
                "run": self.run.id,
                "lines": [line.as_dict() for line in chunk.lines],
                "next": chunk.next,
                "missed": chunk.missed,
                "closed": chunk.closed,
            }
            message = Message(output_topic(self.run.id), SERVER, time.time(), values)
            # Published under the lock: two wake-ups never reorder their lines.
            self.hub.publish([message])
            if self.ended and self._unsubscribe is not None:
                self._unsubscribe()
