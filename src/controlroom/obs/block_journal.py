"""The journal of building block calls: kept in memory, also written to ``logging``.

Each call gives one :class:`JournalEntry` (name, arguments, obsid, start,
end, outcome), appended to its observation's ``journal`` and logged on the
``controlroom.obs.journal`` logger: at INFO when the block starts and when it
ends, with the entry as ``record.journal_entry``. Storing the journal for
good is not done here: a handler on that logger can keep it. (The command
journal the storage manager stores is another one, of device commands: see
:mod:`controlroom.services.storage.journal`.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger("controlroom.obs.journal")

Outcome = Literal["running", "ok", "error"]


@dataclass
class JournalEntry:
    """One building block call: what ran, with which arguments, when, and how it ended."""

    name: str
    arguments: dict[str, Any]
    obsid: str | None  # None in a dry run
    started: float  # seconds since the epoch
    ended: float | None = None
    outcome: Outcome = "running"
    error: str | None = None  # "TypeName: message" when the outcome is "error"
    dry_run: bool = False

    @property
    def duration_s(self) -> float | None:
        return None if self.ended is None else self.ended - self.started


def opened(
    name: str, arguments: Mapping[str, Any], obsid: str | None, dry_run: bool
) -> JournalEntry:
    """A new entry for a building block that starts now; logged."""
    entry = JournalEntry(name, dict(arguments), obsid, time.time(), dry_run=dry_run)
    log.info(
        "%s started (obsid %s): %s", name, obsid, entry.arguments, extra={"journal_entry": entry}
    )
    return entry


def closed(entry: JournalEntry, error: BaseException | None) -> None:
    """Mark ``entry`` finished, successfully when ``error`` is None; logged."""
    entry.ended = time.time()
    if error is None:
        entry.outcome = "ok"
    else:
        entry.outcome = "error"
        entry.error = f"{type(error).__name__}: {error}"
    log.info(
        "%s ended %s after %.3f s (obsid %s)%s",
        entry.name,
        entry.outcome,
        entry.ended - entry.started,
        entry.obsid,
        f": {entry.error}" if entry.error else "",
        extra={"journal_entry": entry},
    )
