"""HDF5 backend (h5py): housekeeping next to arrays and packets, with attributes.

One group per origin, with row-aligned, extendable (chunked) datasets::

    /<origin>/timestamp                float64 UTC seconds
    /<origin>/setup_id                 int64, -1 where unknown
    /<origin>/obsid                    UTF-8 string, "" where unknown
    /<origin>/columns/<name>/present   bool: has this row a value?
    /<origin>/columns/<name>/values    see `controlroom.storage.hdf5columns`

Registration order is kept in the ``_origins`` and ``_columns`` attributes
(JSON lists). `Hdf5Backend.set_attributes` puts the user's attributes on an
origin group or a column group. ``append`` writes a batch, flushes the file
and fsyncs it before returning. HDF5 is for arrays and packets; the storage
manager's record of acknowledged housekeeping belongs in SQLite or CSV, since a
process killed in the middle of an HDF5 write can leave metadata to repair.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from controlroom.storage import hdf5columns
from controlroom.storage.backend import OBSID, SETUP_ID, TIMESTAMP, Row
from controlroom.storage.errors import InvalidNameError, unavailable
from controlroom.storage.hdf5read import latest_index, range_indices, rows_at
from controlroom.storage.registrations import BackendBase, Span

log = logging.getLogger(__name__)


class Hdf5Backend(BackendBase):
    """Housekeeping, arrays and packets in one HDF5 file."""

    scalars_only = False  # arrays and packets too: `hdf5columns` checks every value

    def __init__(self, path: str | Path, fsync: bool = True) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = h5py.File(self.path, "a", libver="latest")
        except OSError as exc:
            raise unavailable(f"cannot open HDF5 file {path}", exc) from exc
        # h5py flushes to the operating system only; this descriptor lets us fsync.
        self._fd = os.open(self.path, os.O_RDONLY) if fsync else None
        order = json.loads(self._file.attrs.get("_origins", "[]"))
        super().__init__({o: json.loads(self._file[o].attrs["_columns"]) for o in order})

    def _store_registration(self, origin: str, new_origin: bool, new: list[str]) -> None:
        """Create or extend the group of ``origin``.

        A registration a full disk cut short is completed by the next one
        (every step finds what is already there).
        """
        known = [] if new_origin else self.columns(origin)
        try:
            group = self._file[origin] if origin in self._file else self._new_group(origin)
            rows = group[TIMESTAMP].shape[0]
            for name in new:
                column = group["columns"].require_group(name)
                if "present" not in column:
                    column.create_dataset("present", shape=(rows,), maxshape=(None,), dtype=bool)
            group.attrs["_columns"] = json.dumps([*known, *new])
            if new_origin:
                self._file.attrs["_origins"] = json.dumps([*self.origins(), origin])
            self._sync()
        except OSError as exc:
            raise unavailable(f"HDF5 registration in {self.path} failed", exc) from exc

    def _store_rows(self, origin: str, rows: Sequence[Row], columns: list[str]) -> None:
        """Extend every dataset of ``origin`` by ``rows``; flush and fsync.

        A write that fails (disk full) cuts every dataset back to its length
        before the batch and raises `BackendUnavailableError`.
        """
        if not rows:
            return
        group = self._file[origin]
        start = group[TIMESTAMP].shape[0]
        batches = {name: [r.values.get(name) for r in rows] for name in columns}
        encoded = self._encode(group, batches, start)
        fixed = {
            TIMESTAMP: np.array([r.timestamp for r in rows], dtype=np.float64),
            SETUP_ID: np.array([-1 if r.setup_id is None else r.setup_id for r in rows]),
            OBSID: np.array([r.obsid or "" for r in rows], dtype=object),
        }
        try:
            for name, data in fixed.items():
                _extend(group[name], start, data)
            for name, batch in batches.items():
                column = group["columns"][name]
                _extend(column["present"], start, np.array([v is not None for v in batch]))
                if "values" in column:
                    _extend(column["values"], start, encoded.get(name))
            self._sync()
        except BaseException as exc:
            self._cut_back(group, start)
            if isinstance(exc, OSError):
                raise unavailable(f"HDF5 write to {self.path} failed", exc) from exc
            raise

    def _latest(self, origin: str, columns: list[str], name: str | None) -> Row | None:
        """The row with the greatest timestamp (with a value for ``name``)."""
        group = self._file[origin]
        index = latest_index(group, name)
        return None if index is None else rows_at(group, np.array([index]), columns)[0]

    def _range(self, origin: str, columns: list[str], span: Span) -> list[Row]:
        """The rows in ``span``, in time order."""
        group = self._file[origin]
        return rows_at(group, range_indices(group, span.since, span.until, span.limit), columns)

    def set_attributes(
        self, origin: str, attributes: Mapping[str, Any], column: str | None = None
    ) -> None:
        """Set HDF5 attributes on the group of ``origin`` or of one of its columns."""
        node = self._node(origin, column)
        for key, value in attributes.items():
            if key.startswith("_"):
                raise InvalidNameError(f"attribute {key!r}: names starting with _ are internal")
            node.attrs[key] = value
        self._sync()

    def attributes(self, origin: str, column: str | None = None) -> dict[str, Any]:
        """The user's attributes of ``origin`` or of one of its columns."""
        attrs = self._node(origin, column).attrs
        return {k: attrs[k] for k in attrs if not k.startswith("_")}

    def close(self) -> None:
        """Flush and close the file."""
        if self._file.id.valid:
            self._file.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _new_group(self, origin: str) -> h5py.Group:
        """The group of a new origin with its empty fixed datasets."""
        group = self._file.create_group(origin)
        group.create_group("columns")
        for name, dtype in (
            (TIMESTAMP, np.float64),
            (SETUP_ID, np.int64),
            (OBSID, h5py.string_dtype("utf-8")),
        ):
            group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(4096,))
        return group

    def _encode(
        self, group: h5py.Group, batches: dict[str, list[Any]], start: int
    ) -> dict[str, np.ndarray]:
        """Every column's block, checked before anything is written: a bad batch changes nothing."""
        encoded: dict[str, np.ndarray] = {}
        created = []
        try:
            for name, batch in batches.items():
                first = next((v for v in batch if v is not None), None)
                column = group["columns"][name]
                if "values" not in column and first is not None:
                    created.append(hdf5columns.create_values(column, first, start))
                if "values" in column:
                    encoded[name] = hdf5columns.encode(column["values"], batch)
        except BaseException:
            for values in created:
                del group[values.name]  # its kind came from the refused batch
            raise
        return encoded

    def _node(self, origin: str, column: str | None) -> h5py.Group:
        """The group of ``origin`` or of its ``column`` (both checked)."""
        self._registrations.select(origin, None if column is None else [column])
        group = self._file[origin]
        return group if column is None else group["columns"][column]

    def _cut_back(self, group: h5py.Group, length: int) -> None:
        """Every dataset of ``group`` back to ``length`` rows: rows stay aligned."""
        datasets = [group[name] for name in (TIMESTAMP, SETUP_ID, OBSID)]
        for column in group["columns"].values():
            datasets.extend(column[name] for name in ("present", "values") if name in column)
        try:
            for dataset in datasets:
                if dataset.shape[0] > length:
                    dataset.resize(length, axis=0)
            self._file.flush()
        except (OSError, RuntimeError) as exc:
            log.error("cannot cut %s back after a failed write: %s", self.path, exc)

    def _sync(self) -> None:
        """Flush HDF5's buffers and make the file durable."""
        self._file.flush()
        if self._fd is not None:
            os.fsync(self._fd)


def _extend(dataset: h5py.Dataset, start: int, data: np.ndarray | None) -> None:
    """Grow ``dataset`` to ``start + len(data)`` rows and write ``data`` there."""
    if data is None:
        return
    dataset.resize(start + len(data), axis=0)
    dataset[start:] = data
