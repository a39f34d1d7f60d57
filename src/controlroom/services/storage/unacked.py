"""Rows a backend holds that were never acknowledged: kept out of it when the batch comes again.

A batch is acknowledged only once every backend stored it. When one backend
fails (a full disk) after another one took the batch, the sender keeps the rows
and sends them again; without a memory of what went where, each retry would
store them once more in the backend that did take them. So the manager keeps,
per backend, the fingerprints of the rows it stored from batches that were not
acknowledged, and a retry gives each backend only the rows it lacks. Rows are
matched one by one (a multiset of fingerprints), not by batch: a sender's
retry may carry the rows in other batches (new rows behind them, the oldest
dropped from its full queue).

A fingerprint is a digest of the row as the wire encodes it: origin,
timestamp, Setup id, obsid and the values that are not None (a resent row may
come in a table with more columns). Two rows equal in all of that are the
same sample; the count keeps each copy a sender really sent.

The memory is bounded (:data:`LIMIT` rows per backend, the oldest forgotten
first and counted): a forgotten row that comes again is stored twice there,
never lost. It is the manager's memory only, so after a restart a resent batch
may be stored twice where it was, as after a kill -9.
"""

from __future__ import annotations

import collections
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from controlroom import wire
from controlroom.services.storage.batch import Batch
from controlroom.storage import Table

log = logging.getLogger(__name__)

LIMIT = 100_000
"""Rows remembered per backend; about 100 bytes each."""


@dataclass
class Share:
    """What one backend gets of a batch: the rows it lacks, and which rows it already holds."""

    batch: Batch
    keys: list[bytes] | None = None  # fingerprints of the batch's rows (None: not computed)
    held: collections.Counter[bytes] = field(default_factory=collections.Counter)


def fingerprints(batch: Batch) -> list[bytes]:
    """One digest per row of ``batch`` (see the module docstring)."""
    table = batch.table()
    return [_fingerprint(batch.origin, table.columns, row) for row in table.rows]


def _fingerprint(origin: str, columns: Sequence[str], row: Sequence[Any]) -> bytes:
    # A value that is None is no value: a resent row may have gained columns it lacks.
    try:
        values = sorted((c, v) for c, v in zip(columns, row[3:], strict=True) if v is not None)
        sample: Any = [origin, row[0], row[1], row[2], values]
    except (TypeError, IndexError, ValueError):  # a malformed row: refused by every backend
        sample = [origin, repr(row)]
    try:
        frames = wire.pack(sample)
    except wire.EncodeError:  # rows from the network always pack; others by their repr
        frames = [repr(sample).encode()]
    digest = hashlib.blake2b(digest_size=16)
    for frame in frames:
        digest.update(frame)
    return digest.digest()


class UnackedRows:
    """Per backend (any hashable key), the rows it holds from batches not acknowledged."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.forgotten = 0
        self._held: dict[object, collections.OrderedDict[bytes, int]] = {}
        self._sizes: dict[object, int] = {}

    def __bool__(self) -> bool:
        return any(self._sizes.values())

    def size(self, backend: object) -> int:
        """How many rows ``backend`` holds that were not acknowledged."""
        return self._sizes.get(backend, 0)

    def share(self, backend: object, batch: Batch, keys: list[bytes] | None) -> Share:
        """The rows of ``batch`` (with fingerprints ``keys``) that ``backend`` does not hold."""
        held = self._held.get(backend)
        if keys is None or not held:
            return Share(batch, keys)
        rows, lacking, holds = batch.table().rows, [], collections.Counter[bytes]()
        for row, key in zip(rows, keys, strict=True):
            if holds[key] < held.get(key, 0):
                holds[key] += 1
            else:
                lacking.append((row, key))
        if not holds:
            return Share(batch, keys)
        part = Table(batch.columns, [row for row, _ in lacking])
        return Share(Batch.of_table(batch.origin, part), [key for _, key in lacking], holds)

    def hold(self, backend: object, keys: Iterable[bytes]) -> None:
        """``backend`` stored these rows and they were not acknowledged."""
        held = self._held.setdefault(backend, collections.OrderedDict())
        size = self._sizes.get(backend, 0)
        for key in keys:
            held[key] = held.get(key, 0) + 1
            size += 1
        while size > self.limit:
            _, count = held.popitem(last=False)
            size -= count
            self.forgotten += count
            log.warning(
                "storage: %d unacknowledged rows forgotten; if resent they are stored twice",
                count,
            )
        self._sizes[backend] = size

    def release(self, backend: object, keys: collections.Counter[bytes]) -> None:
        """These rows of ``backend`` are settled (acknowledged or refused): forget them."""
        held = self._held.get(backend)
        if not held:
            return
        size = self._sizes.get(backend, 0)
        for key, count in keys.items():
            left = held.get(key, 0) - count
            size -= min(count, held.get(key, 0))
            if left > 0:
                held[key] = left
            else:
                held.pop(key, None)
        self._sizes[backend] = size
