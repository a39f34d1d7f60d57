"""The set of supervised processes: start and stop them in dependency order.

:class:`Supervisor` holds one :class:`~.supervised.Supervised` per spec. It
starts processes wave by wave (a wave only needs earlier ones, see
:func:`~.processspec.waves`), the processes of one wave in parallel, waiting
for each one's ready line; what they need from other hosts is waited for
(:mod:`.remote`), not started. It stops them in the reverse order. Operations
are serialised by one lock; describing the processes never waits for them.
Only names among the specs it was given are accepted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from controlroom.rpc.factory import ProcessFactory
from controlroom.services.procman.adopt import (
    LEDGER,
    Ledger,
    adopted_run,
    kill_stray,
    recorded_process,
    stop_recorded,
)
from controlroom.services.procman.errors import UnknownProcess
from controlroom.services.procman.policy import Policy, State
from controlroom.services.procman.processspec import ProcessSpec, ReadyInfo, waves
from controlroom.services.procman.remote import WaitRemote, in_background, no_wait
from controlroom.services.procman.supervised import Notify, Supervised

# Stopped after everything else: every stopping process talks to them on its way out.
# The log manager before the registry: its own unregistering waits for an answer (a
# second, with the registry gone), where the registry's last records to a log manager
# that is gone are given up at once.
STOP_LAST = ("logman", "registry")

__all__ = ["Policy", "State", "Supervised", "Supervisor"]


def _nowhere(event: str, data: dict[str, Any]) -> None:
    """Where events go when nobody listens."""


class Supervisor:
    """Starts, stops and restarts the processes of a list of specs."""

    def __init__(
        self,
        policy: Policy,
        log_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        notify: Notify = _nowhere,
        factory: ProcessFactory | None = None,
    ) -> None:
        self.policy = policy
        self.factory = factory
        self.log_dir = log_dir
        self.env = env
        self.notify = notify
        # How processes wait for what they need from other hosts (the manager sets it).
        self.wait_remote: WaitRemote = no_wait
        self.ledger = Ledger(log_dir / LEDGER)
        self._processes: dict[str, Supervised] = {}
        self._table = threading.Lock()  # guards _processes; held only for a moment
        self.operations = threading.RLock()  # one start/stop/reload at a time
        self.closing = threading.Event()  # set by close(): a start_all under way gives up

    # -- the set of specs --------------------------------------------------------

    def set_specs(
        self, specs: Sequence[ProcessSpec], *, complete: bool = True
    ) -> dict[str, list[str]]:
        """Make ``specs`` the managed set: gone or changed processes are stopped first.

        Returns the names ``added``, ``removed`` and ``changed`` (a changed
        process is replaced by a stopped one with its new spec). A process an
        earlier process manager left running is adopted if its spec is among
        ``specs``; when ``specs`` are ``complete`` (not just the core services
        before the Setup is known) the others it left are stopped.
        """
        with self.operations:
            wanted = {spec.name: spec for spec in specs}
            current = self._snapshot()
            removed = [n for n in current if n not in wanted]
            changed = [n for n in current if n in wanted and current[n].original != wanted[n]]
            self._stop_in_order([current[n] for n in [*removed, *changed]])
            kept = {n: p for n, p in current.items() if n in wanted and n not in changed}
            table = {
                name: kept.get(name) or self._supervised(spec) for name, spec in wanted.items()
            }
            with self._table:
                self._processes = table
            if complete:
                self._stop_strays(wanted)
            added = [n for n in wanted if n not in current]
            return {"added": added, "removed": removed, "changed": changed}

    def _supervised(self, spec: ProcessSpec) -> Supervised:
        process = Supervised(
            spec,
            self.policy,
            self.log_dir,
            env=self.env,
            notify=self._notify,
            peers=self.ready,
            ledger=self.ledger,
            factory=self.factory,
        )
        entry = self.ledger.load().get(spec.name)
        if entry is None:
            return process
        found = recorded_process(entry)
        if found is not None and entry.get("spec_argv") == list(spec.argv):
            process.adopt(adopted_run(found, entry, process.log_path), entry)
        else:  # left by an earlier process manager for another spec: it would be in the way
            kill_stray(entry, self.policy.stop_timeout_s)
            self.ledger.forget(spec.name)
        return process

    def _stop_strays(self, wanted: Mapping[str, ProcessSpec]) -> None:
        stop_recorded(self.ledger, self.policy.stop_timeout_s, keep=wanted)

    def _notify(self, event: str, data: dict[str, Any]) -> None:
        self.notify(event, data)  # looked up now: the server sets notify after we are made

    def names(self) -> list[str]:
        return list(self._snapshot())

    def get(self, name: str) -> Supervised:
        """The process ``name``; :class:`UnknownProcess` for any name not among the specs."""
        found = self._snapshot().get(name) if isinstance(name, str) else None
        if found is None:
            known = ", ".join(self._snapshot()) or "none"
            raise UnknownProcess(f"no process {name!r} is managed here (known: {known})")
        return found

    def _snapshot(self) -> dict[str, Supervised]:
        with self._table:
            return dict(self._processes)

    # -- operations ----------------------------------------------------------------

    def start(self, name: str, wait: bool = True) -> dict[str, Any]:
        with self.operations:
            process = self.get(name)
            process.start(wait)
            return process.describe()

    def stop(self, name: str) -> dict[str, Any]:
        with self.operations:
            process = self.get(name)
            process.stop()
            return process.describe()

    def restart(self, name: str, wait: bool = True) -> dict[str, Any]:
        with self.operations:
            process = self.get(name)
            process.stop()
            process.start(wait)
            return process.describe()

    def start_all(self, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Start every process (or those ``names``), each as soon as what it needs is ready.

        Not wave by wave: a slow starter (the web panel) holds up only what
        comes after it, not everything in the next wave.
        """
        with self.operations:
            chosen = set(self.names() if names is None else names)
            processes = self._snapshot()
            specs = [p.spec for n, p in processes.items() if n in chosen]
            waves(specs)  # refuses a circle before anything starts
            settled = {spec.name: threading.Event() for spec in specs}
            needed = {name for spec in specs for name in spec.remote_after}
            remote = in_background(self.wait_remote, needed, self.closing)

            def start(process: Supervised) -> None:
                try:
                    for needed in process.spec.after:
                        if needed in settled:
                            settled[needed].wait()
                    if process.spec.remote_after:
                        remote.wait()
                    if not self.closing.is_set():
                        process.start(True)
                finally:
                    settled[process.name].set()

            _in_parallel(start, [processes[spec.name] for spec in specs])
            return self.describe()

    def stop_all(self) -> list[dict[str, Any]]:
        """Stop every process, dependents before what they depend on."""
        with self.operations:
            self._stop_in_order(list(self._snapshot().values()))
            return self.describe()

    def close(self) -> None:
        """Stop every process for good (the process manager is stopping), strays too."""
        self.closing.set()
        with self.operations:
            self.stop_all()
            self._stop_strays({})
        if self.factory is not None:
            self.factory.close()

    def _stop_in_order(self, processes: Sequence[Supervised]) -> None:
        """Dependents first; the services every process talks to on its way out last.

        A stopping server unregisters from the registry and flushes its records
        to the log manager: with those gone already, it would wait for them.
        """
        by_name = {p.name: p for p in processes}
        last = [[by_name[name]] for name in STOP_LAST if name in by_name]
        for group in ([p for p in processes if p.name not in STOP_LAST], *last):
            specs = [p.spec for p in group]
            for wave in reversed(waves(specs)):
                _in_parallel(Supervised.stop, [by_name[s.name] for s in wave])

    # -- reports -------------------------------------------------------------------

    def describe(self) -> list[dict[str, Any]]:
        return [process.describe() for process in self._snapshot().values()]

    def ready(self) -> dict[str, ReadyInfo]:
        """Name → the ready-line info of every running process."""
        return {
            name: dict(p.ready_info)
            for name, p in self._snapshot().items()
            if p.state == State.RUNNING and p.ready_info
        }

    def counts(self) -> dict[str, int]:
        """How many processes are in each state, and restarts in total."""
        counts = {str(state): 0 for state in State}
        restarts = 0
        for process in self._snapshot().values():
            counts[str(process.state)] += 1
            restarts += process.restarts
        return {**counts, "processes": sum(counts.values()), "restarts": restarts}


def _in_parallel(action: Callable[[Supervised], None], processes: Sequence[Supervised]) -> None:
    """Run ``action`` on every process at once; return when all are done."""
    if len(processes) == 1:
        action(processes[0])
        return
    threads = [threading.Thread(target=action, args=(p,), daemon=True) for p in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
