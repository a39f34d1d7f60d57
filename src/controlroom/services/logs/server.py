"""The log manager: receives every process's log records, writes daily files, answers tail.

Three sockets:

* *records* (PULL, ``services.logman.records``): where each process's
  :class:`~controlroom.rpc.loghandler.LogHandler` pushes its records;
* *commands* (ROUTER): a control server whose commands are declared on
  :class:`LogManager` -- ``tail``, ``stats`` -- so ``make_proxy(LogManager, ...)``
  gives a client with the same methods;
* *publish* (PUB): each record, as written, on topic ``log/<server>/logman``
  (body ``{server, time, values: record}``), for ``controlroom logs tail -f``.

``python -m controlroom.processes.service logman`` (or ``controlroom logs
run``) serves it; its ready line adds ``records`` to the usual endpoints.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO, Unpack

from controlroom.config.settings import location
from controlroom.device import Interface, command
from controlroom.rpc import ControlServer
from controlroom.rpc.endpoints import ServerEndpoints
from controlroom.rpc.process import READY_PREFIX
from controlroom.services.control import service_server
from controlroom.services.logs import query
from controlroom.services.logs.receiver import Receiver
from controlroom.services.logs.store import LogStore

NAME = "logman"
LOG_TOPIC = "log"
PublishEvent = Callable[[str, dict[str, Any]], None]


def _nowhere(topic: str, values: dict[str, Any]) -> None:
    """Where records go until the manager is attached to a server."""


class LogManager(Interface):
    """Keeps the log records of every process in daily files and answers queries on them."""

    status_min_period_s = 0.01
    hk_min_period_s = 0.01

    def __init__(self, store: LogStore, records_endpoint: str) -> None:
        self.store = store
        self.receiver = Receiver(records_endpoint, store, publish=self._publish)
        self.publish_event: PublishEvent = _nowhere

    @property
    def records_endpoint(self) -> str:
        """Where processes send records (the bound address once serving)."""
        return self.receiver.endpoint

    def connect(self) -> None:
        """Bind the records socket and start receiving (the control server calls this)."""
        self.receiver.start()

    def disconnect(self) -> None:
        self.receiver.stop()
        self.store.close()

    def _publish(self, record: dict[str, Any]) -> None:
        self.publish_event(f"{LOG_TOPIC}/{record.get('server') or '-'}", record)

    @command(access="read")
    def tail(
        self,
        n: int = 20,
        level: str | None = None,
        server: str | None = None,
        since: float | None = None,
    ) -> list[dict[str, Any]]:
        """The last N records (oldest first) at LEVEL or above, of servers matching the glob
        SERVER, logged at or after SINCE (UTC seconds)."""
        return query.tail(self.store.files(), n, level=level, server=server, since=since)

    @command(access="read")
    def stats(self) -> dict[str, Any]:
        """Counters, the records endpoint and the log files with their sizes."""
        return {
            **self.status(),
            "records_endpoint": self.records_endpoint,
            "directory": str(self.store.directory),
            "retention_days": self.store.retention_days,
            "files": [_describe(path) for path in self.store.files()],
        }

    def status(self) -> dict[str, Any]:
        receiver = self.receiver
        return {
            "received": receiver.received,
            "written": self.store.written,
            "malformed": receiver.malformed,
            "write_failures": receiver.write_failures,
            "file": str(self.store.current_path),
        }

    def housekeeping(self) -> dict[str, Any]:
        return self.status()


def _describe(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
    except OSError:  # deleted by retention meanwhile
        size = 0
    return {"name": path.name, "bytes": size}


def build_manager(
    settings: Mapping[str, Any],
    *,
    records_endpoint: str | None = None,
    directory: Path | None = None,
) -> LogManager:
    """A manager on the Settings' records endpoint and log directory unless given."""
    entry = settings["services"][NAME]
    configured = str(entry.get("directory") or "")
    folder = directory or (Path(configured).expanduser() if configured else None)
    store = LogStore(
        folder or location(settings, "data") / "logs",
        retention_days=int(entry.get("retention_days", 30)),
    )
    return LogManager(store, records_endpoint or str(entry["records"]))


def build_server(
    settings: Mapping[str, Any],
    manager: LogManager,
    **where: Unpack[ServerEndpoints],
) -> ControlServer:
    """The log manager's control server, on the Settings' endpoints unless given."""
    server = service_server(settings, NAME, manager, **where)
    manager.publish_event = server.publisher.publish
    return server


def ready_line(server: ControlServer, manager: LogManager) -> str:
    """The usual ready line, plus where processes send their records."""
    info = {
        "name": server.name,
        "commands": server.endpoint,
        "publish": server.pub_endpoint,
        "records": manager.records_endpoint,
    }
    return READY_PREFIX + json.dumps(info)


def serve(server: ControlServer, manager: LogManager, ready_stream: TextIO = sys.stdout) -> None:
    """Start, print the ready line, and serve until SIGINT, SIGTERM or ``quit``."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: server.stopping.set())
    server.start()
    try:
        print(ready_line(server, manager), file=ready_stream, flush=True)
        server.serve_forever()
    finally:
        server.stop()
