"""Files a Setup names: confined to one directory, the Settings' ``locations.data``.

Whoever may submit a Setup is not whoever runs the panel and the bridges: those
read and write with the rights of the lab account. So a file named by a Setup
(the panel's ``web.status_file`` and ``web.accept_file``) must lie under the
data directory once every symlink is followed: an absolute path elsewhere, a
``..`` that climbs out and a symlink that points out are all refused.

The check runs when a Setup is submitted and loaded (the configuration
manager) and again at every read or write (the panel, the bridges), because a
symlink can be changed after the Setup was accepted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from controlroom.config.errors import ConfigError

DATA_FILE_KEYS = ("web.status_file", "web.accept_file")
"""The Setup keys that name a file under ``locations.data``."""


class PathOutsideRoot(ConfigError):
    """A path leaves the directory it is confined to (or is not a path at all)."""


def confined(value: object, root: str | os.PathLike[str], key: str) -> Path:
    """``value`` (relative: under ``root``) with every symlink followed, refused unless
    it lies strictly inside ``root``; ``key`` names the value in the message."""
    if not isinstance(value, str | os.PathLike):
        raise PathOutsideRoot(f"{key} must be a path, not {value!r}")
    base = _resolved(root, key)
    path = _resolved(base / value, key)  # an absolute value replaces base
    if path == base or not path.is_relative_to(base):
        raise PathOutsideRoot(
            f"{key}: {os.fspath(value)!r} is outside the data directory {base}: "
            "name a file under it (a relative path), with no symlink leading out"
        )
    return path


def data_files(setup: Mapping[str, Any], root: str | os.PathLike[str]) -> dict[str, Path | None]:
    """Each key of :data:`DATA_FILE_KEYS` → the confined file it names (None: not named).

    Raw values are read: a Setup's directives (``env//...``) are not resolved
    here, as they are not by the panel, which gets the Setup as plain data.
    """
    return {key: _named_file(setup, key, root) for key in DATA_FILE_KEYS}


def _named_file(setup: Mapping[str, Any], key: str, root: str | os.PathLike[str]) -> Path | None:
    section_name, name = key.split(".")
    section = _raw(setup, section_name) or {}
    if not isinstance(section, Mapping):
        raise PathOutsideRoot(f"{section_name} must be a mapping, not {section!r}")
    value = _raw(section, name)
    return None if value in (None, "") else confined(value, root, key)


def _raw(mapping: Mapping[str, Any], key: str) -> Any:
    # dict.get skips NavigableDict's directive resolution: the value as written.
    return dict.get(mapping, key) if isinstance(mapping, dict) else mapping.get(key)


def _resolved(path: str | os.PathLike[str], key: str) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte
        raise PathOutsideRoot(f"{key}: cannot resolve {os.fspath(path)!r}: {exc}") from None
