"""Settings: the packaged ``settings.yaml`` deep-merged with a local override file.

Read once at program start (:func:`load_settings`) and passed on; nothing here
runs at import time. Every file is checked against :mod:`controlroom.config.schema`
after the merge, and a problem names the file that provided the bad value, its
line and the key path::

    settings.local.yaml:12: devices.tempctl.hk_period_s: Input should be a valid number
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from controlroom.config.errors import ConfigError
from controlroom.config.navdict import NavigableDict
from controlroom.config.yamlmarks import MarkedDocument, YamlError, dotted, load_marked, locate

LOCAL_SETTINGS_ENV = "CONTROLROOM_LOCAL_SETTINGS"
LOCATIONS = ("conf_repo", "data", "state")
_DATA_SUBDIRS = {"conf_repo": "setups", "data": "data"}


class SettingsError(ConfigError):
    """A settings file is missing, unreadable, not valid YAML or not valid Settings.

    The message is the first problem; ``details`` are the others (the CLI shows them).
    """

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


class Settings(NavigableDict):
    """The merged Settings tree: dot access, tree printing, directives (``env//VAR``...).

    :func:`settings_sources` tells which files it came from. Directive files
    (``yaml//``, ``csv//``) are relative to the working directory, since a merged
    tree has no single directory of its own, and must be inside it or inside the
    ``conf_repo`` and ``data`` locations (see :func:`directive_roots`).
    """

    __slots__ = ("_sources",)
    _sources: tuple[str, ...]

    @classmethod
    def merged(cls, tree: Mapping[str, Any], sources: Sequence[str]) -> Settings:
        """The validated ``tree``, remembering the ``sources`` it was merged from."""
        allowed = tree["security"]["allowed_packages"]
        try:
            settings = cls(tree, allowed_packages=allowed, file_roots=directive_roots(tree))
        except ConfigError as exc:  # a key that is not a string, in an `x_` section
            raise SettingsError(f"{sources[-1]}: {exc}") from None
        object.__setattr__(settings, "_sources", tuple(sources))  # not a key: bypass dot access
        return settings


VALIDATED_ENV = "CONTROLROOM_SETTINGS_VALIDATED"


def load_settings(
    local: str | Path | None = None, *, packaged: str | Path | None = None
) -> Settings:
    """The packaged settings, overridden by ``local`` or ``$CONTROLROOM_LOCAL_SETTINGS``.

    ``packaged`` replaces the packaged ``settings.yaml`` as the base (tests, or a
    site that ships its own complete file).
    """
    documents = [_packaged() if packaged is None else _read(Path(packaged), "settings")]
    local = local or os.environ.get(LOCAL_SETTINGS_ENV)
    if local:
        documents.append(_read(Path(local), "local settings"))
    merged: dict[str, Any] = {}
    for document in documents:
        merged = deep_merge(merged, document.data)
    _validate_once(merged, documents)
    return Settings.merged(merged, [document.source for document in documents])


def settings_sources(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The files ``settings`` were merged from, packaged first; () if not from a load."""
    return getattr(settings, "_sources", ()) if isinstance(settings, Settings) else ()


def packaged_settings_path() -> str:
    """Where the packaged ``settings.yaml`` is (the first of the sources)."""
    return str(resources.files("controlroom.config").joinpath("settings.yaml"))


def _packaged() -> MarkedDocument:
    text = resources.files("controlroom.config").joinpath("settings.yaml").read_text()
    return _parse(text, packaged_settings_path())


def _read(path: Path, what: str) -> MarkedDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    return _parse(text, str(path))


@functools.lru_cache(maxsize=8)
def _parse(text: str, source: str) -> MarkedDocument:
    """The document of ``text``, parsed once per process for the same text and source.

    Parsing the packaged file alone takes about 17 ms, in every process of a
    lab; a process forked from the process factory finds both files already
    parsed (:mod:`controlroom.processes.warm`). The document is shared: it is
    only read (:func:`deep_merge` copies what it merges).
    """
    try:
        document = load_marked(text, source)
    except YamlError as exc:
        raise SettingsError(str(exc)) from None
    if document.data is None:
        return MarkedDocument(source, {})
    if not isinstance(document.data, dict):
        raise SettingsError(f"{source}:1: the top level must be a mapping of sections")
    return document


def _validate_once(merged: Mapping[str, Any], documents: Sequence[MarkedDocument]) -> None:
    """Validate, unless a parent process validated these very Settings.

    Building the schema costs a tenth of a second of CPU, which the dozen
    processes of ``controlroom up`` would each pay on start-up. A process
    that validated notes the digest of what it checked in its environment,
    so the processes it starts, which inherit it, skip the check when their
    Settings are the same. Validation only reports problems: skipping it
    changes no value.
    """
    digest = hashlib.sha256(json.dumps(merged, sort_keys=True, default=str).encode()).hexdigest()
    if os.environ.get(VALIDATED_ENV) == digest:
        return
    _validate(merged, documents)
    os.environ[VALIDATED_ENV] = digest


def _validate(merged: Mapping[str, Any], documents: Sequence[MarkedDocument]) -> None:
    """Raise a :class:`SettingsError` listing every problem at its file and line, in file order."""
    from controlroom.config.schema.settings import problems  # pydantic: only when it is needed

    placed = [(locate(documents, problem.path), problem) for problem in problems(merged)]
    found = sorted(placed, key=lambda pair: pair[0])  # stable: same line keeps pydantic's order
    lines = [
        f"{documents[index].source}:{line}: {dotted(problem.path)}: {problem.message}"
        for (index, line), problem in found
    ]
    if lines:
        raise SettingsError(lines[0], lines[1:])


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``override`` merged in.

    Mappings are merged key by key; anything else in ``override`` (a scalar, a
    list, ``null``) replaces the value in ``base`` as a whole.
    """
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def device_settings(settings: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The entry for device ``name``; a clear error lists the known ones."""
    devices = settings.get("devices") or {}
    if name not in devices:
        known = ", ".join(sorted(devices)) or "none"
        raise SettingsError(f"no device {name!r} in the settings (known: {known})")
    return dict(devices[name])


def location(settings: Mapping[str, Any], name: str) -> Path:
    """Directory ``locations.<name>`` (conf_repo, data or state), defaults filled in.

    Empty means: ``conf_repo`` and ``data`` under ``$XDG_DATA_HOME/controlroom``
    (``~/.local/share/controlroom``), ``state`` at ``$XDG_STATE_HOME/controlroom``
    (``~/.local/state/controlroom``). For ``state`` the deprecated
    ``runtime.state_dir`` is used when ``locations.state`` is empty.
    """
    if name not in LOCATIONS:
        raise SettingsError(f"no location {name!r} (known: {', '.join(LOCATIONS)})")
    configured = str((settings.get("locations") or {}).get(name) or "")
    if not configured and name == "state":
        configured = str((settings.get("runtime") or {}).get("state_dir") or "")
    if configured:
        return Path(configured).expanduser()
    if name == "state":
        return _xdg("XDG_STATE_HOME", ".local/state") / "controlroom"
    return _xdg("XDG_DATA_HOME", ".local/share") / "controlroom" / _DATA_SUBDIRS[name]


def directive_roots(settings: Mapping[str, Any]) -> tuple[Path, Path]:
    """The configured folders a Setup's ``yaml//``/``csv//`` files may also be in.

    Pass them as ``file_roots`` when loading a Setup, besides its own folder:
    the Setup repository and the data directory.
    """
    return location(settings, "conf_repo"), location(settings, "data")


def locations(settings: Mapping[str, Any]) -> dict[str, Path]:
    """Every location of :data:`LOCATIONS`, defaults filled in."""
    return {name: location(settings, name) for name in LOCATIONS}


def _xdg(variable: str, fallback: str) -> Path:
    # The XDG spec says a relative path in these variables is invalid and to be ignored.
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / fallback
