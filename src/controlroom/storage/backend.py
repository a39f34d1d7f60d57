"""The one small interface every storage backend implements, and the row it stores.

A *origin* (``TEMPCTL``, ``OGSE``) is a source of housekeeping with a list of
*columns* (parameter names). A `Row` is one sample of an origin: a UTC
timestamp in float seconds since the epoch (sub-millisecond digits kept), the
Setup id and obsid in force when it was taken, and a value per column.

Contract shared by all backends (checked by ``tests/storage``'s conformance
suite):

- ``register(origin, columns)`` is idempotent. Registering again with more
  columns extends the origin (new columns are added at the end; older rows read
  back as ``None`` there). Registrations persist: a reopened backend knows its
  origins and columns before any row arrives.
- ``append(origin, rows)`` stores a batch and returns only once the batch is
  durable (committed, fsync'ed): the storage manager acknowledges on that. The
  batch is checked first; a bad row rejects the whole batch and stores nothing
  of it. A column missing from ``values`` is stored as ``None``; a column the
  origin did not register raises `UnknownColumnError`.
- Failures come in two kinds (`controlroom.storage.errors`): `InvalidRowsError`
  for rows that can never be stored, `BackendUnavailableError` for a medium
  that cannot take them now (disk full, I/O error, locked, server down). Either
  way ``append`` and ``register`` leave nothing of the failed call behind (no
  partial batch, no torn line, no registration known only in memory), so the
  same call can be made again once the medium is back.
- ``latest(origin)`` is the row with the greatest timestamp (the last appended
  among equal timestamps); ``latest(origin, name)`` is the latest row in which
  ``name`` has a value (not ``None``), with only that column in ``values``.
- ``range(origin, names, since, until, limit)`` lists rows with
  ``since <= timestamp < until`` in time order (ties in append order), at most
  ``limit`` of them (the earliest), each with the columns ``names`` (all when
  ``None``).
- ``origins()`` and ``columns(origin)`` list registrations in registration
  order; ``close()`` releases files and connections and may be called twice.

Value types: ``float``, ``int``, ``str``, ``bool`` and ``None`` everywhere;
HDF5 also stores numpy arrays and ``bytes`` packets. Each backend documents
what its medium does to types (CSV text, SQLite integer booleans, ...).
Backends are not thread-safe: one owner thread at a time (the storage
manager's writer), or one backend object per thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from controlroom.storage.table import Table

Scalar: TypeAlias = float | int | str | bool | None
"""A value every backend stores."""

Value: TypeAlias = "Scalar | bytes | npt.NDArray[np.generic]"
"""A value some backend stores: scalars everywhere, arrays and packets in HDF5."""

TIMESTAMP = "timestamp"
SETUP_ID = "setup_id"
OBSID = "obsid"
RESERVED = (TIMESTAMP, SETUP_ID, OBSID)
"""Names of the fixed fields; no column may take one of them."""


@dataclass(frozen=True, slots=True)
class Row:
    """One sample of an origin: when, under which Setup and observation, what values."""

    timestamp: float
    """UTC seconds since the epoch; sub-millisecond digits are kept."""
    values: Mapping[str, Any] = field(default_factory=dict)
    """Column name -> value (`Scalar`, or `Value` where the backend takes it)."""
    setup_id: int | None = None
    obsid: str | None = None


@runtime_checkable
class Backend(Protocol):
    """Where housekeeping rows go and come back from; see the module docstring."""

    def register(self, origin: str, columns: Sequence[str]) -> None:
        """Declare ``origin`` with ``columns`` (again: no-op; more columns: extend)."""

    def append(self, origin: str, rows: Sequence[Row]) -> None:
        """Store ``rows`` of ``origin``; return once they are durable."""

    def latest(self, origin: str, name: str | None = None) -> Row | None:
        """The last row of ``origin`` (with a value for ``name``), or None."""

    def range(
        self,
        origin: str,
        names: Sequence[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        """Rows with ``since <= timestamp < until``, in time order, at most ``limit``."""

    def origins(self) -> list[str]:
        """The registered origins, in registration order."""

    def columns(self, origin: str) -> list[str]:
        """The columns of ``origin``, in registration order."""

    def close(self) -> None:
        """Release files and connections; closing twice is harmless."""


@runtime_checkable
class TableBackend(Backend, Protocol):
    """A backend that also takes a batch as a `~controlroom.storage.table.Table` (all shipped ones).

    ``append_table(origin, table)`` has the contract of ``append``: the rows
    are ``[timestamp, setup_id, obsid, *values]`` under ``table.columns``.
    ``append_tables`` stores several tables, in one write where the medium
    can, and says for each whether it is durable (None) or not (its error).
    """

    def append_table(self, origin: str, table: Table) -> None:
        """Store the rows of ``table`` of ``origin``; return once they are durable."""

    def append_tables(self, tables: Sequence[tuple[str, Table]]) -> list[Exception | None]:
        """Store several ``(origin, table)`` at once where it can; each one's outcome."""
