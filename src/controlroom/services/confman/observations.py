"""Observations and the current Setup id, kept across restarts.

An observation is a span of test activity with a unique id, the *obsid*
``<SITE>_<NNNNN>`` (``LAB_00042``): the site, then a per-site counter that
only ever goes up. Only one observation runs at a time; everything stored
during it is tagged with its obsid and the Setup id that was current when it
started.

The counters, the running observation and the current Setup id live in one
JSON file (:class:`~controlroom.services.confman.statefile.StateFile`), so a
restarted configuration manager carries on where it stopped: the running
observation is still running and no obsid is ever handed out twice. The last
:data:`HISTORY_KEPT` ended observations are kept there too, for listing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from controlroom.services.confman.errors import ObservationError, StateFileError
from controlroom.services.confman.statefile import StateFile

HISTORY_KEPT = 1000  # ended observations listed; older ones live on in the stored data
_OBSID = re.compile(r"^(?P<site>[A-Za-z0-9-]+)_(?P<number>\d{5,})$")


def format_obsid(site: str, number: int) -> str:
    """``LAB_00042``: the site, an underscore and the number on at least five digits."""
    return f"{site}_{number:05d}"


def parse_obsid(obsid: str) -> tuple[str, int]:
    """The site and the number of ``obsid``; ValueError when it is not an obsid."""
    match = _OBSID.match(obsid)
    if match is None:
        raise ValueError(f"{obsid!r} is not an obsid (SITE_NNNNN)")
    return match["site"], int(match["number"])


def utc_now() -> str:
    """The current time as an ISO 8601 string in UTC (what every record carries)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Observation:
    """One observation, as stored and as sent to clients."""

    obsid: str
    site: str
    description: str
    setup_id: int | None
    started: str
    ended: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observation:
        try:
            setup_id = data.get("setup_id")
            return cls(
                obsid=str(data["obsid"]),
                site=str(data["site"]),
                description=str(data.get("description", "")),
                setup_id=None if setup_id is None else int(setup_id),
                started=str(data["started"]),
                ended=None if data.get("ended") is None else str(data["ended"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StateFileError(f"unreadable observation record {data!r}: {exc}") from None


class ObservationLog:
    """The running observation, the obsid counters and the current Setup id of one site."""

    def __init__(self, path: Path, site: str) -> None:
        if not _OBSID.match(format_obsid(site, 0)):
            raise ValueError(f"site {site!r} cannot be part of an obsid (letters, digits, -)")
        self.site = site
        self.state = StateFile(path)

    def current(self) -> Observation | None:
        """The running observation, or None."""
        record = self.state.read().get("current")
        return Observation.from_dict(record) if record else None

    def start(self, description: str, setup_id: int | None) -> Observation:
        """Start an observation with the next obsid; refused while another one runs."""
        with self.state.update() as data:
            running = data.get("current")
            if running:
                raise ObservationError(
                    f"observation {running.get('obsid')} is running; end it before starting another"
                )
            counters = data.setdefault("last_obs_number", {})
            number = int(counters.get(self.site, 0)) + 1
            counters[self.site] = number
            observation = Observation(
                format_obsid(self.site, number), self.site, description, setup_id, utc_now()
            )
            data["current"] = observation.to_dict()
        return observation

    def end(self) -> Observation:
        """End the running observation and return it (with its end time)."""
        with self.state.update() as data:
            running = data.get("current")
            if not running:
                raise ObservationError("no observation is running")
            ended = Observation.from_dict({**running, "ended": utc_now()})
            data["history"] = [*_history(data), ended.to_dict()][-HISTORY_KEPT:]
            data["current"] = None
            data["last_observation"] = ended.to_dict()
        return ended

    def recent(self, limit: int) -> list[Observation]:
        """The running observation and the last ended ones: at most ``limit``, newest first."""
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        data = self.state.read()
        records = [*_history(data), *([data["current"]] if data.get("current") else [])]
        chosen = records[-limit:] if limit else []
        return [Observation.from_dict(record) for record in reversed(chosen)]

    def find(self, obsid: str) -> Observation | None:
        """Observation ``obsid`` if it runs or is among the last ended ones, else None."""
        return next((o for o in self.recent(HISTORY_KEPT + 1) if o.obsid == obsid), None)

    @property
    def setup_id(self) -> int | None:
        """The id of the Setup loaded last, or None before the first load."""
        value = self.state.read().get("setup_id")
        return None if value is None else int(value)

    def set_setup_id(self, setup_id: int) -> None:
        """Remember ``setup_id`` as the current Setup."""
        with self.state.update() as data:
            data["setup_id"] = setup_id


def _history(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The ended observations, oldest first (a file written before there was a history
    has only the last one)."""
    history = data.get("history")
    if isinstance(history, list):
        return [dict(r) for r in history if isinstance(r, dict)]
    last = data.get("last_observation")
    return [dict(last)] if isinstance(last, dict) else []
