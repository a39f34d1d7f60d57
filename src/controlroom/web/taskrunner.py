"""Running tasks for the web panel: one worker thread per run, its output streamed, devices locked.

::

    runner = TaskRunner(discover_tasks(["controlroom.obs.demo_tasks"], allowed),
                        observations=functools.partial(observation, confman=endpoint))
    run = runner.submit("controlroom.obs.demo_tasks.read_dummy", {"samples": 3}, user="alice")
    async for line in run.output.follow():    # or run.output.read(after) to poll
        ...
    run.as_dict()  # {"id", "task", "state", "result", "error", "obsid", ...}

A run is ``queued`` until its thread starts, then ``running``, then ``done``
or ``failed`` (exception type, message and traceback kept, the traceback also
in the output). A run is refused at :meth:`TaskRunner.submit` when a device it
uses is held by a run that has not ended, or, for a building block, while
another building block's observation runs (the configuration manager has one
observation at a time). Building blocks run inside an observation opened by
the injected ``observations`` starter (by default :func:`controlroom.obs.observation`
with the configuration manager the Settings name).

A run submitted for a user runs on that user's behalf: every call the task
makes through a proxy (its observation, the devices it commands) carries
the user's name and panel role, via web, so each control server checks that
role and journals ``alice via web (key lab)``.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

from controlroom.obs import BuildingBlock, Observation, observation
from controlroom.obs.sequence import describe
from controlroom.obs.task import TaskSpec
from controlroom.obs.taskargs import to_json
from controlroom.rpc.proxy import acting_for
from controlroom.web.errors import WebError
from controlroom.web.taskoutput import OutputStream, capture_thread

log = logging.getLogger(__name__)

State = Literal["queued", "running", "done", "failed"]
ObservationStarter = Callable[[str], AbstractContextManager[Observation]]
OBSERVATION = "observation"  # the lock every building block takes: one observation at a time
VIA = "web"


class TaskRefused(WebError):
    """A run was not started: unknown task, bad arguments, or a device in use."""


class UnknownTask(TaskRefused, LookupError):
    """No task, or no run, of that name or id."""


class DeviceBusy(TaskRefused):
    """A device the task uses is held by a run that has not ended."""


@dataclass
class TaskRun:
    """One run of a task: arguments, state, output, and how it ended."""

    id: int
    spec: TaskSpec
    arguments: dict[str, Any]
    user: str | None = None
    role: str = "viewer"  # the user's, which the servers check the task's calls against
    state: State = "queued"
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    result: Any = None
    error: dict[str, str] | None = None  # {type, message, traceback}
    obsid: str | None = None
    output: OutputStream = field(default_factory=OutputStream, repr=False)
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def acting(self) -> AbstractContextManager[None]:
        """The context the task runs in: on its user's behalf, if it has one."""
        if self.user is None:
            return nullcontext()
        return acting_for({"user": self.user, "role": self.role, "via": VIA})

    @property
    def duration_s(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started

    def wait(self, timeout: float | None = None) -> bool:
        """True once the run has ended (False if ``timeout`` passed first)."""
        return self.finished.wait(timeout)

    def as_dict(self) -> dict[str, Any]:
        """The run as JSON data (without its output: read that from ``output``)."""
        return {
            "id": self.id,
            "task": self.spec.name,
            "display_name": self.spec.display_name,
            "group": self.spec.group,
            "arguments": _jsonable(self.arguments),
            "user": self.user,
            "state": self.state,
            "submitted": self.submitted,
            "started": self.started,
            "ended": self.ended,
            "duration_s": self.duration_s,
            "result": _jsonable(self.result),
            "error": self.error,
            "obsid": self.obsid,
            "devices": list(self.spec.devices),
            "output_lines": self.output.read(0).next,
        }


class TaskRunner:
    """The tasks the panel offers, and their runs (the newest ``history`` ended ones kept)."""

    def __init__(
        self,
        tasks: Mapping[str, Iterable[TaskSpec]] | Iterable[TaskSpec],
        *,
        observations: ObservationStarter | None = None,
        history: int = 200,
        output_lines: int = 5000,
    ) -> None:
        specs = [s for g in tasks.values() for s in g] if isinstance(tasks, Mapping) else tasks
        self.tasks: dict[str, TaskSpec] = {spec.name: spec for spec in specs}
        self.observations: ObservationStarter = observations or _settings_observation
        self.output_lines = output_lines
        self._runs: collections.OrderedDict[int, TaskRun] = collections.OrderedDict()
        self._history = history
        self._held: dict[str, TaskRun] = {}  # device (or OBSERVATION) -> the run holding it
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[TaskRun], None]] = []

    # -- what the panel shows ----------------------------------------------------

    def groups(self) -> dict[str, list[dict[str, Any]]]:
        """The tasks by group, as JSON data, in the order they were discovered."""
        found: dict[str, list[dict[str, Any]]] = {}
        for spec in self.tasks.values():
            found.setdefault(spec.group or "Tasks", []).append(spec.describe())
        return found

    def runs(self) -> list[TaskRun]:
        """Every run kept, newest first."""
        with self._lock:
            return list(reversed(self._runs.values()))

    def run(self, run_id: int) -> TaskRun:
        with self._lock:
            found = self._runs.get(run_id)
        if found is None:
            raise UnknownTask(f"no task run {run_id} (it may have left the history)")
        return found

    def busy_devices(self) -> dict[str, int]:
        """Device (or ``observation``) -> id of the run holding it."""
        with self._lock:
            return {device: run.id for device, run in self._held.items()}

    def on_change(self, listener: Callable[[TaskRun], None]) -> Callable[[], None]:
        """Call ``listener(run)`` (on the run's thread) when a run starts or ends."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- running -----------------------------------------------------------------

    def submit(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        user: str | None = None,
        role: str = "viewer",
    ) -> TaskRun:
        """Start task ``name`` with JSON ``arguments`` on a new thread, on behalf of ``user``
        with ``role`` when given; returns its run."""
        spec = self.tasks.get(name)
        if spec is None:
            known = ", ".join(sorted(self.tasks)) or "none"
            raise UnknownTask(f"no task {name!r} (tasks: {known})")
        coerced = spec.arguments(arguments)  # TaskArgumentError names the argument
        with self._lock:
            run = TaskRun(
                next(self._ids), spec, coerced, user, role, output=OutputStream(self.output_lines)
            )
            self._reserve(run)
            self._runs[run.id] = run
        worker = threading.Thread(target=self._execute, args=(run,), name=f"task-{run.id}")
        worker.daemon = True  # a task may run for hours; it cannot be killed, only abandoned
        worker.start()
        return run

    def _reserve(self, run: TaskRun) -> None:
        wanted = [*run.spec.devices, *([OBSERVATION] if run.spec.building_block else [])]
        for device in wanted:
            holder = self._held.get(device)
            if holder is not None:
                what = "an observation" if device == OBSERVATION else f"device {device!r}"
                raise DeviceBusy(
                    f"{run.spec.display_name} cannot run now: {what} is in use by run "
                    f"{holder.id} ({holder.spec.display_name}, {holder.state}); "
                    f"try again when it has ended"
                )
        for device in wanted:
            self._held[device] = run

    def _end(self, run: TaskRun, outcome: State, ended: float) -> None:
        # Devices are free once the run shows as ended: whoever sees it may start the next.
        with self._lock:
            run.state, run.ended = outcome, ended
            for device in [d for d, holder in self._held.items() if holder is run]:
                del self._held[device]
            self._trim()

    def _trim(self) -> None:
        ended = [r for r in self._runs.values() if not r.active]
        for old in ended[: max(0, len(ended) - self._history)]:
            del self._runs[old.id]

    def _execute(self, run: TaskRun) -> None:
        out = run.output
        with capture_thread(out):
            run.state, run.started = "running", time.time()
            self._notify(run)
            out.line("runner", f"----- {run.spec.display_name} started (run {run.id})")
            with run.acting():
                outcome = self._call(run)
            out.flush()
            ended = time.time()
            out.line(
                "runner",
                f"----- {run.spec.display_name} {outcome} after {ended - run.started:.3f} s",
            )
        self._end(run, outcome, ended)
        out.close()
        run.finished.set()
        self._notify(run)

    def _call(self, run: TaskRun) -> State:
        try:
            with self._observation(run) as opened:
                run.obsid = getattr(opened, "obsid", None)
                run.result = run.spec.function(**run.arguments)
        except BaseException as exc:  # the run's failure is reported, never raised further
            run.error = {
                "type": type(exc).__name__,
                "message": str(exc),
                "traceback": "".join(traceback.format_exception(exc)),
            }
            run.output.line("stderr", run.error["traceback"].rstrip("\n"))
            return "failed"
        return "done"

    def _observation(self, run: TaskRun) -> AbstractContextManager[Observation | None]:
        block = run.spec.function
        if not isinstance(block, BuildingBlock):
            return nullcontext()
        return self.observations(describe(block))

    def _notify(self, run: TaskRun) -> None:
        for listener in list(self._listeners):
            try:
                listener(run)
            except Exception:
                log.exception("task run listener failed")


def _settings_observation(description: str) -> AbstractContextManager[Observation]:
    """An observation at the configuration manager the Settings name."""
    return observation(description)


def _jsonable(value: Any) -> Any:
    """``value`` as JSON can carry it; what JSON cannot is shown by its repr."""
    value = to_json(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return repr(value)
