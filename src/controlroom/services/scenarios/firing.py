"""Running what a rule names, each firing on a worker thread of its own, and journaling it.

What a firing runs is decided by the
:class:`~controlroom.services.setupdriven.Runner` the program that starts the
service passes; ``controlroom scenarios run`` passes the one that opens an
observation around building blocks (``scenario <rule>`` by default) and tells
which obsid it ran in.

Each firing is published twice on the service's PUB socket: ``scenario_fired``
when it starts (rule, condition, value) and ``scenario_ended`` with the
journal entry once it ended.

A firing runs as ``scenarios:<rule>`` with the service's role
(``services.scenarios.role``): every call the rule's code makes through a
proxy (its observation, the devices it commands) carries that identity, so
each control server checks the role and journals
``scenarios:cool_down_when_hot via scenarios (key lab)``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from controlroom.rpc.proxy import acting_for
from controlroom.services.scenarios.evaluator import Evaluator, Trigger
from controlroom.services.scenarios.journal import FiringJournal
from controlroom.services.setupdriven import Runner

log = logging.getLogger(__name__)

Notify = Callable[[str, dict[str, Any]], None]
ObsidLookup = Callable[[], str | None]
JOIN_S = 2.0  # how long stopping waits for each firing still running
VIA = "scenarios"


def _nothing(event: str, data: dict[str, Any]) -> None:
    """Where firing events go until the service is attached to a server."""


def _no_observation() -> str | None:
    return None


@dataclass(frozen=True)
class Firing:
    """One firing, as journaled: what fired it, where it ran, how it ended."""

    rule: str
    condition: str
    server: str
    value: Any
    run: str
    args: dict[str, Any]
    time: float  # when it started, UTC seconds
    setup_id: int | None
    obsid: str | None
    outcome: str  # "ok" or "error"
    error: str | None
    duration_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Firer:
    """Starts a worker thread per firing and reports it to the evaluator and the journal."""

    def __init__(
        self,
        evaluator: Evaluator,
        runner: Runner,
        journal: FiringJournal,
        *,
        confman: str,
        role: str = "operator",
        current_obsid: ObsidLookup = _no_observation,
        notify: Notify = _nothing,
    ) -> None:
        self.evaluator = evaluator
        self.runner = runner
        self.journal = journal
        self.confman = confman
        self.role = role  # of every firing's calls, checked at each control server
        self.current_obsid = current_obsid
        self.notify = notify
        self.setup_id: int | None = None
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def fire(self, trigger: Trigger) -> None:
        """Run the trigger's rule on a new thread; returns at once."""
        thread = threading.Thread(
            target=self._run, args=(trigger,), name=f"scenario-{trigger.rule.name}", daemon=True
        )
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def running(self) -> int:
        with self._lock:
            return len(self._threads)

    def stop(self, timeout_s: float = JOIN_S) -> None:
        """Wait a little for firings still running; the rest are abandoned (and logged)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout_s)
            if thread.is_alive():
                log.warning("stopping while %s runs; it is abandoned", thread.name)

    def _run(self, trigger: Trigger) -> None:
        rule, started = trigger.rule, time.time()
        condition = rule.when.text()
        fired = {"rule": rule.name, "condition": condition, "server": trigger.server}
        self.notify("scenario_fired", {**fired, "value": trigger.value, "time": started})
        # The observation running now, for a function run outside one of its own.
        obsid, error = self._lookup_obsid(), None
        clock = time.monotonic()
        caller = {"user": f"{VIA}:{rule.name}", "role": self.role, "via": VIA}
        try:
            with acting_for(caller):
                own = self.runner(
                    rule.target,
                    dict(rule.args),
                    observation=rule.observation,
                    confman=self.confman,
                    default_observation=f"scenario {rule.name}",
                )
            obsid = own or obsid
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.exception("scenario %s failed", rule.name)
        duration = time.monotonic() - clock
        self.evaluator.finished(rule.name, error)
        firing = Firing(
            rule=rule.name,
            condition=condition,
            server=trigger.server,
            value=trigger.value,
            run=rule.run,
            args=dict(rule.args),
            time=started,
            setup_id=self.setup_id,
            obsid=obsid,
            outcome="ok" if error is None else "error",
            error=error,
            duration_s=duration,
        )
        self.journal.record(firing.as_dict())
        self.notify("scenario_ended", firing.as_dict())
        with self._lock:
            self._threads.discard(threading.current_thread())

    def _lookup_obsid(self) -> str | None:
        try:
            return self.current_obsid()
        except Exception as exc:  # the firing runs anyway: the journal shows no obsid
            log.warning("cannot tell the running observation: %s", exc)
            return None
