"""The ``storage`` section of the Settings: the storage manager's backends and senders."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from controlroom.config.schema.base import Period, Section

StorageKind = Literal["sqlite", "csv", "hdf5", "postgres"]


class StorageSenderSettings(Section):
    """How control servers queue and batch their rows for the storage manager."""

    queue_rows: int = Field(ge=1)
    batch_rows: int = Field(ge=1)
    batch_delay_s: Period
    timeout_s: Period


class Storage(Section):
    """The storage manager's backends (the first answers queries) and the senders."""

    backends: list[StorageKind] = Field(min_length=1)
    options: dict[StorageKind, dict[str, Any]]
    sender: StorageSenderSettings
