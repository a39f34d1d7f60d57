"""Answering questions about what was stored: one parameter over time, the latest, the journal.

A parameter is asked for by its canonical name. Where it is stored (its
origin) comes from the telemetry dictionary when it names the parameter,
else from the registrations: the one origin with a column of that name. An
origin given by the caller wins over both.

Queries run on the query backend's own worker (see :mod:`.workers`);
results are plain data: times in UTC seconds, values as stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controlroom.services.storage.errors import UnknownParameter
from controlroom.services.storage.journal import JOURNAL, JOURNAL_COLUMNS
from controlroom.services.storage.workers import Worker
from controlroom.storage import Row
from controlroom.storage.registrations import Span
from controlroom.telemetry import TelemetryDictionary

Registrations = Callable[[], Mapping[str, list[str]]]
NOT_HOUSEKEEPING = frozenset({JOURNAL})  # origins `names` leaves out


@dataclass(frozen=True)
class Located:
    """Where a parameter is stored, and its unit when the dictionary knows it."""

    name: str
    origin: str
    unit: str | None = None


class Queries:
    """Queries on ``worker``'s backend; ``registrations`` gives the stored origins/columns."""

    def __init__(
        self,
        worker: Worker,
        registrations: Registrations,
        dictionary: TelemetryDictionary | None = None,
    ) -> None:
        self.worker = worker
        self.registrations = registrations
        self.dictionary = dictionary

    def locate(self, name: str, origin: str | None = None) -> Located:
        """The origin (and unit) of parameter ``name``; UnknownParameter if none or ambiguous."""
        known = self.dictionary is not None and name in self.dictionary
        parameter = self.dictionary.parameter(name) if self.dictionary and known else None
        unit = (parameter.unit or None) if parameter is not None else None
        if origin is not None:
            return Located(name, origin, unit)
        if parameter is not None:
            return Located(name, parameter.origin, unit)
        holders = [o for o, columns in self.registrations().items() if name in columns]
        if len(holders) == 1:
            return Located(name, holders[0], unit)
        if holders:
            raise UnknownParameter(f"{name!r} is stored by {', '.join(holders)}: give an origin")
        raise UnknownParameter(f"no stored HK parameter {name!r} (`names` lists them)")

    def housekeeping(self, name: str, origin: str | None, span: Span) -> dict[str, Any]:
        """``{name, origin, unit, times, values}`` of ``name`` in ``span``."""
        where = self._stored(self.locate(name, origin))
        rows = self.worker.range(where.origin, [name], span.since, span.until, span.limit)
        times, values = [], []
        for row in rows:
            value = row.values.get(name)
            if value is not None:  # rows of the origin that did not carry this parameter
                times.append(row.timestamp)
                values.append(value)
        return {**_describe(where), "times": times, "values": values}

    def latest(self, name: str, origin: str | None = None) -> dict[str, Any] | None:
        """``{name, origin, unit, time, value, setup_id, obsid}`` of the last value, or None."""
        where = self._stored(self.locate(name, origin))
        row = self.worker.latest(where.origin, name)
        if row is None:
            return None
        return {**_describe(where), "value": row.values.get(name), **_provenance(row)}

    def latest_row(self, origin: str) -> dict[str, Any] | None:
        """The last row of ``origin``: ``{time, setup_id, obsid, values}``, or None."""
        self._check_origin(origin)
        row = self.worker.latest(origin)
        return None if row is None else {**_provenance(row), "values": dict(row.values)}

    def names(self) -> list[dict[str, Any]]:
        """Every stored HK parameter ``{name, origin, unit}``, with the dictionary's too."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        if self.dictionary is not None:
            for p in self.dictionary:
                found[(p.origin, p.name)] = {"name": p.name, "origin": p.origin, "unit": p.unit}
        for origin, columns in self.registrations().items():
            if origin in NOT_HOUSEKEEPING:
                continue
            for column in columns:
                found.setdefault((origin, column), {"name": column, "origin": origin, "unit": ""})
        return sorted(found.values(), key=lambda entry: (entry["origin"], entry["name"]))

    def journal(self, obsid: str | None, server: str | None, span: Span) -> list[dict[str, Any]]:
        """Journal entries of ``span`` in time order; the last ``span.limit`` of those that
        match."""
        if JOURNAL not in self.registrations():
            return []
        rows = self.worker.range(JOURNAL, None, span.since, span.until)
        entries = [
            {**_provenance(row), **{c: row.values.get(c) for c in JOURNAL_COLUMNS}}
            for row in rows
            if (obsid is None or row.obsid == obsid)
            and (server is None or row.values.get("server") == server)
        ]
        return entries[-span.limit :] if span.limit else entries

    def _stored(self, where: Located) -> Located:
        columns = self._check_origin(where.origin)
        if where.name not in columns:
            raise UnknownParameter(f"origin {where.origin} stores no {where.name!r} (yet)")
        return where

    def _check_origin(self, origin: str) -> list[str]:
        registrations = self.registrations()
        if origin not in registrations:
            known = ", ".join(registrations) or "none"
            raise UnknownParameter(f"no stored origin {origin!r} (stored: {known})")
        return registrations[origin]


def _describe(where: Located) -> dict[str, Any]:
    return {"name": where.name, "origin": where.origin, "unit": where.unit}


def _provenance(row: Row) -> dict[str, Any]:
    return {"time": row.timestamp, "setup_id": row.setup_id, "obsid": row.obsid}
