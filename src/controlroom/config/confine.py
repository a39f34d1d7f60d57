"""Paths confined to folders: the one check behind every file a Setup names.

:func:`resolve_inside` resolves a path (every symlink and ``..``) and refuses
it unless it lies inside one of the given folders; the Setup directives that
read files (``yaml//``, ``csv//``, see :mod:`controlroom.config.directives`)
and the panel's data files below use it.

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
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from controlroom.config.errors import ConfigError

DATA_FILE_KEYS = ("web.status_file", "web.accept_file")
"""The Setup keys that name a file under ``locations.data``."""


class PathOutsideRoot(ConfigError):
    """A path leaves the folders it is confined to (or is not a path at all).

    ``roots`` are those folders, resolved, for the caller's own message.
    """

    def __init__(self, message: str, roots: tuple[Path, ...] = ()) -> None:
        super().__init__(message)
        self.roots = roots

    @property
    def listed_roots(self) -> str:
        """The folders, comma-separated, for a message."""
        return _listed(self.roots)


class UnresolvablePath(PathOutsideRoot):
    """A path (or one of the folders) cannot be resolved: a symlink loop, a NUL byte."""

    def __init__(self, path: str | os.PathLike[str], cause: Exception) -> None:
        super().__init__(f"cannot resolve {os.fspath(path)!r}: {cause}")
        self.cause = cause


def resolve_inside(path: str | os.PathLike[str], roots: Iterable[str | os.PathLike[str]]) -> Path:
    """``path`` with every symlink and ``..`` resolved, refused unless it lies strictly
    inside one of ``roots`` (resolved too).

    What is then opened is the returned path, so no symlink is followed after
    the check; and the check needs no file to exist, so a refusal tells nothing
    about what is outside.
    """
    bases = tuple(_resolved(root) for root in roots)
    resolved = _resolved(path)
    if not any(resolved != base and resolved.is_relative_to(base) for base in bases):
        raise PathOutsideRoot(f"{os.fspath(path)!r} is outside {_listed(bases)}", bases)
    return resolved


def confined(value: object, root: str | os.PathLike[str], key: str) -> Path:
    """``value`` (relative: under ``root``) resolved, refused unless it lies strictly
    inside ``root``; ``key`` names the value in the message."""
    if not isinstance(value, str | os.PathLike):
        raise PathOutsideRoot(f"{key} must be a path, not {value!r}")
    try:
        return resolve_inside(Path(root) / value, [root])  # an absolute value replaces root
    except UnresolvablePath as exc:
        raise PathOutsideRoot(f"{key}: {exc}") from None
    except PathOutsideRoot as exc:
        raise PathOutsideRoot(
            f"{key}: {os.fspath(value)!r} is outside the data directory {exc.listed_roots}: "
            "name a file under it (a relative path), with no symlink leading out"
        ) from None


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


def _resolved(path: str | os.PathLike[str]) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte
        raise UnresolvablePath(path, exc) from None


def _listed(folders: tuple[Path, ...]) -> str:
    return ", ".join(str(folder) for folder in folders) or "none"


def read_limited_text(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of ``path``, refused (ConfigError) if it is longer than ``max_bytes``."""
    # Read at most one byte past the limit: a file that grew since it was checked
    # is refused without being read whole.
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise ConfigError(f"{path}: more than the limit of {max_bytes} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
