"""Exceptions of the storage package, in two kinds that callers must never confuse.

`StorageError` is the one root exception of `controlroom.storage`. Below it:

- `InvalidRowsError`: the request can never be stored, whatever the medium's
  state (an unknown origin, a bad name, a value of the wrong type). Sending it
  again gets the same answer, so the storage manager refuses such a batch.
- `BackendUnavailableError`: the rows are fine but the medium cannot take them
  *now* (disk full, I/O error, a locked database, a database server down). The
  batch is "not stored yet": a backend raising it has stored nothing of the
  batch, and the same batch must be sent again later. Its ``reason`` says
  which trouble it is, for alarms.

A plain `StorageError` (a file that does not parse, a query that failed) is
neither: the storage manager treats it as "not stored yet" too, since only
rows known to be invalid may ever be given up.
"""

from __future__ import annotations

import errno
import sqlite3

DISK_FULL = "disk_full"
IO_ERROR = "io_error"
READ_ONLY = "read_only"
LOCKED = "locked"
DENIED = "denied"
UNREACHABLE = "unreachable"
OTHER = "other"
REASONS = (DISK_FULL, IO_ERROR, READ_ONLY, LOCKED, DENIED, UNREACHABLE, OTHER)
"""What `BackendUnavailableError.reason` may say."""

_ERRNO_REASONS = {
    errno.ENOSPC: DISK_FULL,
    errno.EDQUOT: DISK_FULL,
    errno.EFBIG: DISK_FULL,
    errno.EIO: IO_ERROR,
    errno.EROFS: READ_ONLY,
    errno.EACCES: DENIED,
    errno.EPERM: DENIED,
}
# SQLite primary result codes (the low byte of its extended codes).
_SQLITE_REASONS = {
    13: DISK_FULL,  # SQLITE_FULL
    10: IO_ERROR,  # SQLITE_IOERR
    11: IO_ERROR,  # SQLITE_CORRUPT
    14: IO_ERROR,  # SQLITE_CANTOPEN
    8: READ_ONLY,  # SQLITE_READONLY
    23: DENIED,  # SQLITE_AUTH
    5: LOCKED,  # SQLITE_BUSY
    6: LOCKED,  # SQLITE_LOCKED
}

_SQLITE_MESSAGES = (
    ("disk is full", DISK_FULL),
    ("i/o error", IO_ERROR),
    ("malformed", IO_ERROR),
    ("readonly", READ_ONLY),
    ("locked", LOCKED),
    ("busy", LOCKED),
)


class StorageError(Exception):
    """Root of every error raised by `controlroom.storage`."""


class InvalidRowsError(StorageError):
    """The request can never be stored as it is: refuse it, do not send it again."""


class UnknownOriginError(InvalidRowsError):
    """An origin was used before it was registered."""


class UnknownColumnError(InvalidRowsError):
    """A row or a query named a column that its origin has not registered."""


class InvalidNameError(InvalidRowsError, ValueError):
    """An origin, column or obsid name is not allowed (reserved, empty, unsafe in a path)."""


class ValueTypeError(InvalidRowsError, TypeError):
    """A value has a type the backend cannot store (an array in CSV, a str in a number column)."""


class BackendUnavailableError(StorageError):
    """The backend cannot store now (disk full, I/O error, locked, no server): not stored yet."""

    def __init__(self, message: str, reason: str = OTHER) -> None:
        super().__init__(message)
        self.reason = reason if reason in REASONS else OTHER


def unavailable(what: str, exc: BaseException) -> BackendUnavailableError:
    """``exc`` (an OSError or a SQLite error) as a `BackendUnavailableError` with its reason."""
    return BackendUnavailableError(f"{what}: {exc}", reason_of(exc))


def reason_of(exc: BaseException) -> str:
    """Which trouble ``exc`` is: one of `REASONS`."""
    if isinstance(exc, BackendUnavailableError):
        return exc.reason
    if isinstance(exc, OSError) and exc.errno in _ERRNO_REASONS:
        return _ERRNO_REASONS[exc.errno]
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int):
            return _SQLITE_REASONS.get(code & 0xFF, OTHER)
        # An error made without its code: SQLite's own messages say the same.
        text = str(exc).lower()
        return next((r for words, r in _SQLITE_MESSAGES if words in text), OTHER)
    return OTHER
