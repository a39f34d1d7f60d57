"""Sending rows to the storage manager from a control server, without ever blocking it.

A :class:`StorageSender` is a housekeeping sink (``server.hooks.hk_sinks``):
each sample becomes one row, tagged with its origin, the sample's own UTC
timestamp and the Setup id and obsid the context provider gives at that
moment (a :class:`~controlroom.rpc.follow.StatusFollower` on the configuration
manager). ``put`` only appends to a bounded queue; a thread of the sender's own
takes batches (``batch_rows`` rows, or whatever is there ``batch_delay_s``
after the first), sends them with the manager's ``store_packed`` command (a
table: the names once, each row's values as a list, packed with msgpack) and
drops them once acknowledged, which the manager does only when they are
durable.

When the manager is down or slow, or answers ``StoreFailed`` (a backend cannot
store now: disk full, database down), the rows wait in the queue and the
thread retries with exponential backoff (``RETRY_FIRST_S`` doubling up to
``RETRY_MAX_S``). The queue never holds more than ``queue_rows`` rows: beyond
that the oldest are dropped, counted (``dropped``) and logged as a warning at
most every ``DROP_REPORT_S``. A batch whose reply was lost is sent again, so a
row may be stored twice but an acknowledged row is never lost.

Only rows the manager refuses (``RowsRefused``: they can never be stored) are
given up, and only those: a refused batch is split in halves and sent again
until each refusal is down to the one row at fault.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

import msgpack
import zmq

from controlroom.rpc import MessageTooLarge, Proxy, RemoteError, RpcError
from controlroom.rpc.hooks import HkSample
from controlroom.services.storage.batch import table_of
from controlroom.services.storage.rowqueue import QueuedRow, RowQueue
from controlroom.telemetry import (
    LIMITS_KEY,
    LIMITS_ORIGIN,
    SYNOPTICS_KEY,
    SYNOPTICS_ORIGIN,
    split_sample,
)
from controlroom.wire import EncodeError

log = logging.getLogger(__name__)

ContextProvider = Callable[[], Mapping[str, Any]]
Encode = Callable[[Any], Mapping[str, Any]]

# What the manager says about rows it will never take: retrying would wedge the queue.
REFUSALS = frozenset({"RowsRefused", "ArgumentError"})
PROBE_TIMEOUT_S = 0.5  # per attempt while the manager is known to be down
RETRY_FIRST_S, RETRY_MAX_S = 0.05, 2.0
DROP_REPORT_S = 10.0  # a full queue drops rows at every sample: one warning per period


def no_context() -> Mapping[str, Any]:
    """The context when nothing tells the Setup id and obsid: neither is known."""
    return {}


def _as_values(payload: Any) -> Mapping[str, Any]:
    return payload  # type: ignore[no-any-return]


@dataclass(frozen=True)
class SenderOptions:
    """How a sender queues and batches (the ``storage.sender`` Settings)."""

    queue_rows: int = 10_000
    batch_rows: int = 1_000
    batch_delay_s: float = 0.2
    timeout_s: float = 10.0


class StorageSender:
    """Queue rows for the storage manager at ``endpoint``; a thread sends them in batches."""

    def __init__(
        self,
        endpoint: str,
        origin: str,
        *,
        context: ContextProvider = no_context,
        options: SenderOptions | None = None,
        encode: Encode = _as_values,
        zmq_context: zmq.Context[Any] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.origin = origin
        self.options = options or SenderOptions()
        self._context = context
        self._encode = encode  # runs on our thread: the server's threads only enqueue
        self._proxy = Proxy(endpoint, name="storage", context=zmq_context)
        self._queue = RowQueue(self.options.queue_rows, self.options.batch_rows)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._up = False  # until a ping says otherwise
        self._sending: float | None = None  # timestamp of the oldest row in flight
        self.sent = self.refused = self.batches = self.failures = 0
        self.last_error = self.last_refusal = ""
        self._drops_reported = 0
        self._next_drop_report = 0.0

    @property
    def dropped(self) -> int:
        """Rows dropped because the queue was full (the oldest first)."""
        return self._queue.dropped

    # -- the producer side: the server's threads ----------------------------------

    def __call__(self, sample: HkSample) -> None:
        """The housekeeping sink: one row per sample under this sender's origin.

        A telemetry pipeline's limit crossings and synoptics ride in the sample
        under reserved keys: they go to their own origins (``LIMITS``, ``SYN``).
        """
        values = sample.values
        if LIMITS_KEY not in values and SYNOPTICS_KEY not in values:
            self.put(values, sample.time)
            return
        split = split_sample(values)
        if split.values:
            self.put(split.values, sample.time)
        for crossing in split.crossings:
            when = crossing.get("time", sample.time)
            row = {k: v for k, v in crossing.items() if k != "time"}  # the row's timestamp
            self.put(row, float(when), LIMITS_ORIGIN)
        if split.synoptics:
            self.put(split.synoptics, sample.time, SYNOPTICS_ORIGIN)

    def put(self, payload: Any, timestamp: float, origin: str | None = None) -> None:
        """Queue one row; returns at once. The oldest row is dropped when the queue is full."""
        context = self._context()
        setup_id = context.get("setup_id")
        if setup_id is not None and type(setup_id) is not int:
            setup_id = _setup_id(setup_id)  # a wrong type would get every row refused
        row = QueuedRow(origin or self.origin, timestamp, setup_id, context.get("obsid"), payload)
        self._queue.put(row)

    def counters(self) -> dict[str, Any]:
        """Queued, sent (acknowledged), dropped rows; batches, failed attempts, lag."""
        waiting = [t for t in (self._sending, self._queue.oldest()) if t is not None]
        return {
            "origin": self.origin,
            "queued": len(self._queue),
            "sent": self.sent,
            "dropped": self.dropped,
            "refused": self.refused,
            "batches": self.batches,
            "failures": self.failures,
            "lag_s": max(0.0, time.time() - min(waiting)) if waiting else 0.0,
            "connected": self._up,
            "last_error": self.last_error,
        }

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is None:
            name = f"storage-sender-{self.origin}"
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Send what the manager takes within about ``timeout`` seconds, then stop."""
        self._stopping.set()
        self._queue.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._proxy.close()
        self._report_drops(final=True)
        if len(self._queue):
            log.warning(
                "storage sender %s stops with %d rows not stored", self.origin, len(self._queue)
            )

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the sending thread ------------------------------------------------------------

    def _run(self) -> None:
        retry_s = RETRY_FIRST_S
        while True:
            batch = self._queue.take(self.options.batch_delay_s)
            if not batch:
                return  # stopped, and nothing left
            self._sending = batch[0].timestamp
            delivered = self._send(batch)
            self._sending = None
            self._report_drops()
            if delivered:
                retry_s = RETRY_FIRST_S
                continue
            self._queue.give_back(batch)
            if self._stopping.wait(retry_s):
                return  # stopping while the manager is away: the rest stays queued
            retry_s = min(RETRY_MAX_S, retry_s * 2)

    def _send(self, batch: list[QueuedRow]) -> bool:
        """Store the batch, origin by origin; False (rows left in ``batch``) on a failure."""
        for origin, items in self._by_origin(batch).items():
            refused_before = self.refused
            settled, delivered = self._store(origin, items)
            del batch[:settled]  # acknowledged (or refused): never sent again
            if self.refused > refused_before:
                log.error(
                    "storage manager refused %d of %d %s rows (never storable): %s",
                    self.refused - refused_before,
                    len(items),
                    origin,
                    self.last_refusal,
                )
            if not delivered:
                return False
        self._up = True
        return True

    def _store(self, origin: str, items: list[QueuedRow]) -> tuple[int, bool]:
        """Store ``items``: (how many leading rows are settled, were they all)."""
        try:
            if not self._up:
                # A ping (answered even while the manager writes) finds out soon
                # whether it is back; the store itself may take its full timeout.
                self._proxy.ping(PROBE_TIMEOUT_S)
            self._up = True
            self._proxy.request(*self._store_request(origin, items), timeout=self.options.timeout_s)
        except (RemoteError, MessageTooLarge, EncodeError) as exc:
            if not _refused(exc):
                return 0, self._failed(exc)  # not stored yet: the rows wait
            if len(items) > 1:
                return self._store_halves(origin, items)
            self.refused += 1
            self.last_refusal = str(exc)
            return 1, True
        except (RpcError, zmq.ZMQError) as exc:
            return 0, self._failed(exc)
        self.sent += len(items)
        self.batches += 1
        return len(items), True

    def _store_request(self, origin: str, items: list[QueuedRow]) -> tuple[str, tuple[Any, ...]]:
        """The command and arguments that store ``items``: a packed table when msgpack can.

        Values msgpack cannot carry by itself (numpy numbers, enums, arrays...)
        go as ``{timestamp, values, setup_id, obsid}`` maps through the wire
        codec, which knows them (and refuses what nobody can store).
        """
        if self._encode is _as_values:  # the values as they are: only maps need no look
            encoded = [
                i.payload if type(i.payload) is dict else self._encoded(i.payload) for i in items
            ]
        else:
            encoded = [self._encoded(item.payload) for item in items]
        columns, rows = table_of(items, encoded)
        try:
            return "store_packed", (origin, columns, msgpack.packb(rows))
        except (TypeError, ValueError, OverflowError):
            maps = [
                {"timestamp": i.timestamp, "setup_id": i.setup_id, "obsid": i.obsid, "values": v}
                for i, v in zip(items, encoded, strict=True)
            ]
            return "store", (origin, maps)

    def _store_halves(self, origin: str, items: list[QueuedRow]) -> tuple[int, bool]:
        # A batch is refused whole for one bad row (or for its size): the halves
        # apart give up only the rows at fault.
        middle = len(items) // 2
        settled, delivered = self._store(origin, items[:middle])
        if not delivered:
            return settled, False
        more, delivered = self._store(origin, items[middle:])
        return settled + more, delivered

    def _report_drops(self, *, final: bool = False) -> None:
        """Warn that the full queue dropped rows (at most every ``DROP_REPORT_S``)."""
        dropped = self._queue.dropped
        now = time.monotonic()
        if dropped <= self._drops_reported or (now < self._next_drop_report and not final):
            return
        log.warning(
            "storage sender %s: queue of %d rows full, %d more oldest rows dropped (%d in all)",
            self.origin,
            self.options.queue_rows,
            dropped - self._drops_reported,
            dropped,
        )
        self._drops_reported, self._next_drop_report = dropped, now + DROP_REPORT_S

    def _failed(self, exc: Exception) -> bool:
        self.failures += 1
        if self._up or str(exc) != self.last_error:
            log.warning("storage manager at %s: %s; rows wait", self.endpoint, exc)
        self._up, self.last_error = False, str(exc)
        return False

    def _by_origin(self, batch: list[QueuedRow]) -> dict[str, list[QueuedRow]]:
        """The batch's rows by origin (``batch`` is put in that order)."""
        first = batch[0].origin
        if all(item.origin == first for item in batch):
            return {first: list(batch)}
        batch.sort(key=lambda item: item.origin)  # stable: each origin keeps its order
        grouped: dict[str, list[QueuedRow]] = {}
        for item in batch:
            grouped.setdefault(item.origin, []).append(item)
        return grouped

    def _encoded(self, payload: Any) -> Mapping[str, Any]:
        try:
            values: Any = self._encode(payload)
        except Exception as exc:  # a bad payload must not end the thread that sends the rest
            log.exception("cannot encode a %s row", self.origin)
            return {"encode_error": f"{type(exc).__name__}: {exc}"}
        if type(values) is dict or isinstance(values, Mapping):
            return values
        log.error("a %s row's values are a %s, not a map", self.origin, type(values).__name__)
        return {"encode_error": f"values must be a map, not {type(values).__name__}"}


def _refused(exc: Exception) -> bool:
    # A row the wire cannot carry (an integer beyond 64 bits...) can never be stored:
    # left to raise, it would end the thread that sends every other row.
    if isinstance(exc, MessageTooLarge | EncodeError):
        return True
    return isinstance(exc, RemoteError) and exc.info.type in REFUSALS


def _setup_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        log.warning("the context gives setup_id %r, not an integer: rows carry none", value)
        return None
