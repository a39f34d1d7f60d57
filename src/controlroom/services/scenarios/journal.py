"""The journal of firings: the last ones in memory, every one in the command journal.

Each firing is kept in memory (the newest :data:`KEEP` for ``firings``) and,
when the service has a storage sender, stored as a row of the command journal
(origin ``JOURNAL``, what ``controlroom journal`` shows) with the columns
every device command has:

* ``server``: the scenarios service's name; ``command``: the rule's name;
* ``arguments``: JSON ``{"run", "args", "condition", "server", "value"}``:
  the function, its arguments, the condition, and the server and value that
  fired it;
* ``outcome`` ``ok`` or ``error``, ``error_type`` and ``error_message``;
* ``duration_s``; the row's obsid is the firing's (the observation it ran
  in) and its Setup id the one its rule came from.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping
from typing import Any

from controlroom.services.storage.journal import JOURNAL, json_text
from controlroom.services.storage.sender import StorageSender

KEEP = 1000


class FiringJournal:
    """The firings so far: the newest :data:`KEEP` in memory, all sent to ``sender``."""

    def __init__(self, server: str, sender: StorageSender | None = None) -> None:
        self.server = server
        self.sender = sender
        self._recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=KEEP)
        self._lock = threading.Lock()
        self._tags = threading.local()  # the row being put, read back by the sender's context

    def record(self, firing: Mapping[str, Any]) -> None:
        with self._lock:
            self._recent.append(dict(firing))
        if self.sender is not None:
            self._tags.context = {"obsid": firing["obsid"], "setup_id": firing["setup_id"]}
            try:
                self.sender.put(journal_row(self.server, firing), float(firing["time"]), JOURNAL)
            finally:
                self._tags.context = {}

    def context(self) -> Mapping[str, Any]:
        """The sender's context provider: each row carries its own firing's obsid."""
        return getattr(self._tags, "context", {})

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` firings, newest first."""
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        with self._lock:
            newest = list(self._recent)[::-1]
        return newest[:limit]

    def __len__(self) -> int:
        with self._lock:
            return len(self._recent)

    def start(self) -> None:
        if self.sender is not None:
            self.sender.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Send what the storage manager takes within ``timeout_s``, then stop."""
        if self.sender is not None:
            self.sender.stop(timeout_s)

    def counters(self) -> dict[str, Any]:
        return {} if self.sender is None else self.sender.counters()


def journal_row(server: str, firing: Mapping[str, Any]) -> dict[str, Any]:
    """One firing as the columns of the command journal (see the module docstring)."""
    error = firing.get("error")
    error_type, _, message = str(error).partition(": ") if error else (None, "", "")
    arguments = {key: firing.get(key) for key in ("run", "args", "condition", "server", "value")}
    return {
        "server": server,
        "command": firing["rule"],
        "arguments": json_text(arguments),
        "outcome": firing["outcome"],
        "error_type": error_type,
        "error_message": message or None,
        "value": None,
        "duration_s": firing["duration_s"],
    }
