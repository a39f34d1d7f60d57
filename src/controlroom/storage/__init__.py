"""Storage backends behind one small interface: CSV, SQLite, HDF5 and PostgreSQL.

`Backend` (in `controlroom.storage.backend`) is the interface: ``register``,
``append``, ``latest``, ``range``, ``origins``, ``columns``, ``close``
(and ``append_table`` for a batch as a `Table`: `TableBackend`); the
shipped backends build on `BackendBase` (`controlroom.storage.registrations`),
which checks names, registrations and batches the same way for all of them.
`open_backend` picks one by name. The PostgreSQL and HDF5 backends are imported
on demand; import them from their modules (`controlroom.storage.postgres`,
`controlroom.storage.hdf5`) for their classes.
"""

from controlroom.storage.backend import RESERVED, Backend, Row, Scalar, TableBackend, Value
from controlroom.storage.csvfiles import CsvBackend
from controlroom.storage.errors import (
    BackendUnavailableError,
    InvalidNameError,
    InvalidRowsError,
    StorageError,
    UnknownColumnError,
    UnknownOriginError,
    ValueTypeError,
)
from controlroom.storage.factory import BACKENDS, open_backend
from controlroom.storage.sqlite import SqliteBackend
from controlroom.storage.table import Table
from controlroom.storage.timefmt import format_datetime, parse_datetime, parse_timestamp

__all__ = [
    "BACKENDS",
    "RESERVED",
    "Backend",
    "BackendUnavailableError",
    "CsvBackend",
    "InvalidNameError",
    "InvalidRowsError",
    "Row",
    "Scalar",
    "SqliteBackend",
    "StorageError",
    "Table",
    "TableBackend",
    "UnknownColumnError",
    "UnknownOriginError",
    "Value",
    "ValueTypeError",
    "format_datetime",
    "open_backend",
    "parse_datetime",
    "parse_timestamp",
]
