"""Client side of the log manager: follow new records, and install the handler from Settings.

:class:`LogFollower` subscribes to the log manager's PUB socket and gives each
record as it is written, filtered like ``tail``. :func:`install_from_settings`
is what a process calls at start to send its own records to the log manager.
"""

from __future__ import annotations

import contextlib
import logging
import queue
from collections.abc import Iterator, Mapping
from typing import Any, Self

import zmq

from controlroom.rpc.follow import Publication, Subscriber
from controlroom.rpc.loghandler import LogHandler, ObsidProvider, install_log_handler
from controlroom.services.logs.records import Filter

_POLL_S = 0.2  # an iterating follower wakes this often, so Ctrl-C is prompt
TOPIC_PREFIX = "log/"
KEPT = 1000  # records waiting for a slow reader; newer ones are dropped beyond that


class LogFollower:
    """Records as the log manager writes them, filtered like ``tail``.

    Subscribes when made (so a ``tail`` query made next misses nothing that
    arrives in between); ``server`` is a glob. A message that is not a record
    is skipped. Close it, or use it in a ``with``.
    """

    def __init__(
        self,
        publish_endpoint: str,
        *,
        level: str | None = None,
        server: str | None = None,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        self._wanted = Filter(level, server)
        self._records: queue.Queue[dict[str, Any]] = queue.Queue(KEPT)
        self._subscriber = Subscriber(name="log-follower", context=context)
        self._subscriber.on(TOPIC_PREFIX, self._take).follow([publish_endpoint])
        self._subscriber.start()

    def next(self, timeout_s: float) -> dict[str, Any] | None:
        """The next record, or None if none came within ``timeout_s``."""
        try:
            return self._records.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Every record from now on; wakes often, so Ctrl-C is prompt."""
        while True:
            record = self.next(_POLL_S)
            if record is not None:
                yield record

    def close(self) -> None:
        self._subscriber.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take(self, publication: Publication) -> None:
        record = publication.values
        if isinstance(record.get("time"), str) and self._wanted(record):
            # Like a full ZeroMQ queue: the reader is behind, the newest record is lost.
            with contextlib.suppress(queue.Full):
                self._records.put_nowait(record)


def install_from_settings(
    settings: Mapping[str, Any],
    *,
    server: str,
    level: int | str = logging.INFO,
    process: str | None = None,
    obsid: ObsidProvider | None = None,
) -> LogHandler:
    """Send this process's records to the log manager the Settings name.

    Uses ``services.logman.records`` and ``services.logman.buffer_records``;
    see :func:`~controlroom.rpc.loghandler.install_log_handler`.
    """
    entry = settings["services"]["logman"]
    return install_log_handler(
        str(entry["records"]),
        server=server,
        level=level,
        buffer=int(entry.get("buffer_records", 1000)),
        process=process,
        obsid=obsid,
    )
