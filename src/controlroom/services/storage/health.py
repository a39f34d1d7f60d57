"""Whether each backend takes writes: counters, gauges and the events of an outage.

A backend that cannot store (disk full, I/O error, database down) is not a
refusal: the rows wait at their senders until it is back. People must hear of
it while it lasts, so :class:`BackendHealth` follows every write outcome:

* event ``storage_failing`` ``{backend, reason, error}`` when a backend that
  worked fails (and again if the reason changes), logged as an error;
* event ``storage_recovered`` ``{backend, failed_for_s, failures}`` at its first
  write after that;
* counters and gauges for status, ``stats`` and the housekeeping (hence
  Prometheus): ``write_failures`` (writes not stored yet, all backends),
  ``backends_ok`` and, per backend, ``ok``, ``reason``, ``failing_since``.

Events go out on the manager's ``event/storage`` topic and to its listeners
(``notify`` is the control server's).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from controlroom.storage.errors import reason_of

log = logging.getLogger(__name__)

FAILING, RECOVERED = "storage_failing", "storage_recovered"
Notify = Callable[[str, dict[str, Any]], None]
_ERROR_CHARS = 300  # an event carries the gist, the log has the rest


def _nobody(event: str, data: dict[str, Any]) -> None:
    """Events before a server is attached: the log has them."""


@dataclass
class BackendState:
    """One backend's health: up or failing since when, and why."""

    ok: bool = True
    reason: str = ""
    last_error: str = ""
    failing_since: float | None = None
    failures: int = 0  # writes not stored yet in this outage

    def describe(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reason": self.reason,
            "failing_since": self.failing_since,
            "outage_failures": self.failures,
        }


class BackendHealth:
    """The health of the backends named ``kinds``; ``notify`` publishes its events."""

    def __init__(self, kinds: Iterable[str], notify: Notify = _nobody) -> None:
        self.notify = notify
        self.write_failures = 0
        self._states = {kind: BackendState() for kind in kinds}
        self._lock = threading.Lock()  # read by the status and housekeeping threads

    def stored(self, kind: str) -> None:
        """``kind`` took a write: an outage, if any, is over."""
        with self._lock:
            state = self._states[kind]
            if state.ok:
                return
            failed_for = time.time() - (state.failing_since or time.time())
            failures = state.failures
            self._states[kind] = BackendState()
        log.warning("storage backend %s stores again after %.1f s", kind, failed_for)
        self.notify(RECOVERED, {"backend": kind, "failed_for_s": failed_for, "failures": failures})

    def failed(self, kind: str, error: BaseException) -> None:
        """``kind`` could not store a write now (not a refusal)."""
        reason = reason_of(error)
        text = f"{type(error).__name__}: {error}"
        with self._lock:
            self.write_failures += 1
            state = self._states[kind]
            news = state.ok or state.reason != reason
            if state.ok:
                state.failing_since = time.time()
            state.ok, state.reason, state.last_error = False, reason, text
            state.failures += 1
        if news:
            log.error("storage backend %s cannot store (%s): %s; rows wait", kind, reason, text)
            self.notify(FAILING, {"backend": kind, "reason": reason, "error": text[:_ERROR_CHARS]})

    def all_ok(self) -> bool:
        with self._lock:
            return all(state.ok for state in self._states.values())

    def describe(self, kind: str) -> dict[str, Any]:
        with self._lock:
            return self._states[kind].describe()

    def gauges(self) -> dict[str, Any]:
        """Numbers for housekeeping and Prometheus: failures, and 1/0 per backend."""
        with self._lock:
            gauges: dict[str, Any] = {"storage_write_failures": self.write_failures}
            gauges["storage_backends_ok"] = int(all(s.ok for s in self._states.values()))
            for kind, state in self._states.items():
                gauges[f"storage_backend_ok_{kind}"] = int(state.ok)
            return gauges
