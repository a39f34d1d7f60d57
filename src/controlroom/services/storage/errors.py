"""Exceptions of the storage manager and its senders.

``StorageServiceError`` is the one root. Through a proxy a client sees the
``RemoteError`` subclass named after the class: a sender gives up rows the
manager answered with ``RowsRefused`` (they can never be stored: sending them
again would fail again) and keeps, then retries, rows answered with
``StoreFailed`` (not stored yet: a full disk, a database down).
"""

from __future__ import annotations


class StorageServiceError(Exception):
    """Root of every error raised by ``controlroom.services.storage``."""


class RowsRefused(StorageServiceError, ValueError):
    """A batch (or a registration) is malformed: a bad name, value type or row shape."""


class StoreFailed(StorageServiceError):
    """Not stored yet: a backend cannot store now (disk full, database down); send again later."""


class UnknownParameter(StorageServiceError, LookupError):
    """A query named a parameter no origin stores (or several do and none was chosen)."""


class StorageSettingsError(StorageServiceError, ValueError):
    """The ``storage`` Settings name an unknown backend or give it bad options."""
