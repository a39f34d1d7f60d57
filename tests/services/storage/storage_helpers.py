"""Helpers for the storage manager tests: an in-memory backend, rows as senders send them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from controlroom.device.proxy import DeviceProxy
from controlroom.rpc import ControlServer
from controlroom.storage.backend import Row
from controlroom.storage.errors import BackendUnavailableError
from controlroom.storage.registrations import Registrations, scalars


class MemoryBackend:
    """The backend interface in memory; ``failing`` makes ``append`` raise like a lost disk."""

    def __init__(self, store: dict[str, Any] | None = None) -> None:
        # ``store`` outlives the backend: reopening on it is a restart with persisted data.
        self.store = store if store is not None else {"columns": {}, "rows": {}}
        self.registry = Registrations(self.store["columns"])
        self.failing = False
        self.appends = 0

    def register(self, origin: str, columns: Sequence[str]) -> None:
        new_origin, new = self.registry.plan(origin, columns)
        if new_origin or new:
            self.registry.add(origin, new)
            self.store["columns"][origin] = self.registry.columns(origin)
            self.store["rows"].setdefault(origin, [])

    def append(self, origin: str, rows: Sequence[Row]) -> None:
        if self.failing:
            raise BackendUnavailableError("the disk is gone")
        self.registry.check_batch(origin, rows)
        for row in rows:  # the real backends refuse what their medium cannot hold
            scalars(row.values, self.registry.columns(origin))
        self.store["rows"][origin].extend(rows)
        self.appends += 1

    def latest(self, origin: str, name: str | None = None) -> Row | None:
        rows = self.range(origin, None if name is None else [name])
        if name is not None:
            rows = [r for r in rows if r.values[name] is not None]
        return rows[-1] if rows else None

    def range(
        self,
        origin: str,
        names: Sequence[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        columns = self.registry.select(origin, names)
        rows = sorted(self.store["rows"][origin], key=lambda r: r.timestamp)
        chosen = [
            Row(r.timestamp, {c: r.values.get(c) for c in columns}, r.setup_id, r.obsid)
            for r in rows
            if (since is None or r.timestamp >= since) and (until is None or r.timestamp < until)
        ]
        return chosen[:limit] if limit is not None else chosen

    def origins(self) -> list[str]:
        return self.registry.origins()

    def columns(self, origin: str) -> list[str]:
        return self.registry.columns(origin)

    def close(self) -> None:
        """Nothing to release."""


ManagerFactory = Callable[..., tuple[ControlServer, DeviceProxy, list[MemoryBackend]]]
"""The ``memory_manager`` fixture: start(stores=1, dictionary=None, endpoint=ANY_PORT)."""


def hk_row(t: float, obsid: str | None = None, setup_id: int | None = None, **values: Any) -> Any:
    """A row as a sender puts it on the wire."""
    return {"timestamp": t, "setup_id": setup_id, "obsid": obsid, "values": values}
