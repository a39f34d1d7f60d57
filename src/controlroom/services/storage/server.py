"""The storage manager: housekeeping and the command journal, as a control server.

Its commands are declared on :class:`StorageManager` like any device's, so
``make_proxy(StorageManager, endpoint)`` gives a client with the same methods.
Control servers send it batches with ``store_packed`` (through a
:class:`~.sender.StorageSender`; ``store`` takes rows as maps); the reply
comes only once every configured backend has made the batch durable, and
meanwhile the manager takes in the next batches (the reply is deferred: see
:mod:`controlroom.rpc.deferred`). Each backend runs in a process of its own
(:mod:`.procworker`). ``query_housekeeping``, ``latest``,
``names`` and ``journal`` answer from the query backend (the first one
configured); :mod:`.client` wraps them for scripts (``get_housekeeping``: the
name every control server already uses for its last sample is taken by a
service command). Its status, published as ``status/storage``, is a summary of
:meth:`stats`, with ``backends_ok`` false while a backend cannot store; its
housekeeping (hence its Prometheus metrics) has ``storage_write_failures`` and
``storage_backend_ok_<kind>``; and it publishes the events ``storage_failing``
and ``storage_recovered`` (see :mod:`.health`).

``python -m controlroom.processes.service storage`` (or ``controlroom storage
run``) serves it; it prints the ready line once it serves.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any, Unpack

from controlroom.device import Interface, command
from controlroom.rpc import ControlServer
from controlroom.rpc.endpoints import ServerEndpoints
from controlroom.services.control import service_server
from controlroom.services.storage.health import Notify
from controlroom.services.storage.ingest import Ingest
from controlroom.services.storage.options import backend_specs
from controlroom.services.storage.procworker import ProcessWorker
from controlroom.services.storage.queries import Queries
from controlroom.services.storage.workers import Worker
from controlroom.storage.registrations import Span
from controlroom.telemetry import TelemetryDictionary, load_dictionary, shipped_dictionary

NAME = "storage"
JOURNAL_LIMIT = 1000
STATUS_KEYS = ("rows", "batches", "refused_rows", "failures", "write_failures", "backends_ok")
HK_PERIOD_S = 10.0  # the health gauges should not lag an outage by long

log = logging.getLogger(__name__)


class StorageManager(Interface):
    """Stores batches of rows in every configured backend; answers queries from the first."""

    status_min_period_s = 0.01
    hk_min_period_s = 0.01

    def __init__(
        self, workers: Sequence[Worker], dictionary: TelemetryDictionary | None = None
    ) -> None:
        self.workers = list(workers)
        self.ingest = Ingest(self.workers)
        self.queries = Queries(self.workers[0], self.ingest.columns, dictionary)

    @command(access="admin")
    def register(self, origin: str, columns: list[str]) -> list[str]:
        """Register ORIGIN with COLUMNS (added to those it has); returns all its columns."""
        return self.ingest.register(origin, columns)

    @command(access="admin")
    def store(self, origin: str, rows: list[Any]) -> Future[int]:
        """Store ROWS ({timestamp, values, setup_id, obsid}) of ORIGIN; the count, once durable."""
        return self.ingest.submit_maps(origin, rows)

    @command(access="admin")
    def store_packed(self, origin: str, columns: list[str], packed: bytes) -> Future[int]:
        """Store rows of ORIGIN packed as senders do: PACKED is the msgpack of a list of
        [timestamp, setup_id, obsid, one value per COLUMNS...]; the count, once durable."""
        return self.ingest.submit_packed(origin, columns, packed)

    @command(access="read")
    def query_housekeeping(
        self,
        name: str,
        since: float | None = None,
        until: float | None = None,
        origin: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Values of NAME with since <= time < until: {name, origin, unit, times, values}."""
        return self.queries.housekeeping(name, origin, Span(since, until, limit))

    @command(access="read")
    def latest(self, name: str | None = None, origin: str | None = None) -> dict[str, Any] | None:
        """The last value of NAME {name, origin, unit, time, value...}, or ORIGIN's last row."""
        if name is None:
            if origin is None:
                raise ValueError("latest needs a parameter name, an origin or both")
            return self.queries.latest_row(origin)
        return self.queries.latest(name, origin)

    @command(access="read")
    def origins(self) -> dict[str, list[str]]:
        """Every registered origin and its columns, in registration order."""
        return self.ingest.columns()

    @command(access="read")
    def names(self) -> list[dict[str, Any]]:
        """Every HK parameter stored or in the telemetry dictionary: {name, origin, unit}."""
        return self.queries.names()

    @command(access="read")
    def journal(
        self,
        obsid: str | None = None,
        since: float | None = None,
        until: float | None = None,
        server: str | None = None,
        limit: int = JOURNAL_LIMIT,
    ) -> list[dict[str, Any]]:
        """The last LIMIT device commands (of OBSID, of SERVER, since, until), oldest first."""
        return self.queries.journal(obsid, server, Span(since, until, limit))

    @command(access="read")
    def stats(self) -> dict[str, Any]:
        """Rows and batches stored, refused rows, failures, per origin and per backend."""
        return self.ingest.stats()

    def status(self) -> dict[str, Any]:
        stats = self.ingest.stats()
        return {key: stats[key] for key in STATUS_KEYS}

    def housekeeping(self) -> dict[str, Any]:
        """Counters and health gauges, as numbers (they become Prometheus metrics too)."""
        stats = self.ingest.stats()
        return {
            "storage_rows": stats["rows"],
            "storage_refused_rows": stats["refused_rows"],
            "storage_failures": stats["failures"],
            **self.ingest.health.gauges(),
        }

    def publish_events_with(self, notify: Notify) -> None:
        """Send the backends' outage and recovery events through ``notify`` (the server's)."""
        self.ingest.health.notify = notify

    def disconnect(self) -> None:
        """Close every backend when the server stops."""
        self.ingest.close()


def open_workers(settings: Mapping[str, Any]) -> list[Worker]:
    """The configured backends, opened (each in its own process, all at once); all or none."""
    workers: list[ProcessWorker] = []
    try:
        for kind, options in backend_specs(settings):
            workers.append(ProcessWorker(kind, options, wait=False))
        for worker in workers:
            worker.wait_open()
    except BaseException:
        for worker in workers:
            worker.close()
        raise
    return list(workers)


def telemetry_dictionary(settings: Mapping[str, Any]) -> TelemetryDictionary:
    """The dictionary named in the Settings (``telemetry.dictionary``), else the shipped one."""
    path = (settings.get("telemetry") or {}).get("dictionary")
    return load_dictionary(path) if path else shipped_dictionary()


def build_server(settings: Mapping[str, Any], **where: Unpack[ServerEndpoints]) -> ControlServer:
    """The storage manager's control server, on the Settings' endpoints unless given."""
    workers = open_workers(settings)
    try:
        manager = StorageManager(workers, telemetry_dictionary(settings))
    except BaseException:
        for worker in workers:
            worker.close()
        raise
    server = service_server(
        settings,
        NAME,
        manager,
        **where,
        hk_period_s=HK_PERIOD_S,
    )
    manager.publish_events_with(server.notify)
    return server
