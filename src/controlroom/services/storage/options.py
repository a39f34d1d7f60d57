"""The ``storage`` Settings: which backends, their options, and how senders batch.

::

    storage:
      backends: [sqlite, csv]      # every row goes to all; the first answers queries
      options:                     # keyword arguments of each backend, by kind
        sqlite: {path: hk.sqlite}
        csv: {root: csv}
      sender: {queue_rows: 10000, batch_rows: 1000, batch_delay_s: 0.2, timeout_s: 10.0}

File options left out, or given as relative paths, are placed under
``locations.data`` (:data:`FILE_OPTIONS`); the CSV file names take the Settings'
``site`` unless the CSV options name one. The storage manager runs each
backend in a process of its own (:mod:`.procworker`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from controlroom.config.settings import location
from controlroom.services.storage.errors import StorageSettingsError
from controlroom.services.storage.sender import SenderOptions

KINDS = ("sqlite", "csv", "hdf5", "postgres")
FILE_OPTIONS: dict[str, tuple[str, str]] = {
    "sqlite": ("path", "hk.sqlite"),
    "csv": ("root", "csv"),
    "hdf5": ("path", "hk.h5"),
}
"""Per kind: the option that names its file or folder, and its default under the data root."""


def section(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``storage`` section (empty when the Settings have none)."""
    return settings.get("storage") or {}


def backend_specs(settings: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``[(kind, options)]`` of the configured backends, in order, paths made absolute."""
    storage = section(settings)
    kinds = list(storage.get("backends") or ("sqlite", "csv"))
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        raise StorageSettingsError(
            f"storage.backends: {unknown or 'empty'}; choose from {', '.join(KINDS)}"
        )
    all_options = storage.get("options") or {}
    return [(kind, backend_options(settings, kind, all_options.get(kind) or {})) for kind in kinds]


def backend_options(
    settings: Mapping[str, Any], kind: str, given: Mapping[str, Any]
) -> dict[str, Any]:
    """``given`` with the file location and site filled in (see the module docstring)."""
    options = dict(given)
    data = location(settings, "data")
    if kind in FILE_OPTIONS:
        key, default = FILE_OPTIONS[kind]
        path = Path(str(options.get(key) or default)).expanduser()
        options[key] = str(path if path.is_absolute() else data / path)
    if kind == "csv":
        options.setdefault("site", str(settings.get("site") or "LAB"))
    return options


def sender_options(settings: Mapping[str, Any]) -> SenderOptions:
    """How control servers queue and batch rows for the storage manager."""
    given = dict(section(settings).get("sender") or {})
    try:
        return SenderOptions(**given)
    except TypeError as exc:
        raise StorageSettingsError(f"storage.sender: {exc}") from None


def storage_endpoint(settings: Mapping[str, Any]) -> str:
    """The storage manager's command endpoint in the Settings."""
    return str(settings["services"]["storage"]["commands"])
