"""The watched status file of the current Setup, shown on every page, acknowledged by operators.

The Setup names the files::

    web:
      status_file: demo/status.txt     # relative paths: under the Settings' locations.data
      accept_file: demo/accept.txt

Both must lie under ``locations.data``, symlinks followed
(:mod:`controlroom.config.confine`): the configuration manager refuses a Setup
naming a file elsewhere, and the panel checks again here and at every read and
write, so a file outside is never shown nor written, whatever Setup got in.

:class:`StatusDesk` runs a :class:`~controlroom.bridges.StatusFileWatcher` on
the status file (a new one when a new Setup names other files) and publishes
every reading to the hub as ``statusfile/main``::

    {configured, status_file, accept_file, status (StatusContent.to_json or None),
     acknowledgement (Acknowledgement.to_json or None), acknowledged, problem}

``acknowledged`` is true when the accept file holds an acknowledgement of
exactly the bytes the status file holds now. :meth:`StatusDesk.acknowledge`
writes one with the operator's name.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from controlroom.bridges import AcceptFile, Acknowledgement, BridgeError, StatusFileWatcher
from controlroom.bridges.statuscontent import StatusContent
from controlroom.config.confine import PathOutsideRoot, data_files
from controlroom.config.settings import location
from controlroom.web.errors import WebError
from controlroom.web.hub import Hub, Message

log = logging.getLogger(__name__)

TOPIC = "statusfile/main"
SERVER = "statusfile"


class StatusFileRefused(WebError):
    """An acknowledgement that cannot be written (nothing configured, stale or bad status)."""


def configured_paths(
    setup: Mapping[str, Any] | None, settings: Mapping[str, Any]
) -> tuple[Path | None, Path | None]:
    """The Setup's ``web.status_file`` and ``web.accept_file`` (relative: under locations.data);
    refused unless both lie under locations.data."""
    try:
        files = data_files(setup or {}, location(settings, "data"))
    except PathOutsideRoot as exc:
        raise StatusFileRefused(f"the Setup's {exc}") from None
    return files["web.status_file"], files["web.accept_file"]


class StatusDesk:
    """Watches the current Setup's status file; publishes each reading; writes acknowledgements."""

    def __init__(self, settings: Mapping[str, Any], hub: Hub) -> None:
        self.settings = settings
        self.hub = hub
        self.data_root = location(settings, "data")
        self.status_file: Path | None = None
        self.accept_file: Path | None = None
        self.problem: str | None = None
        self._watcher: StatusFileWatcher | None = None
        self._generation = 0  # which watcher is current: an old one's last reading is ignored
        self._lock = threading.Lock()

    def load(self, setup: Mapping[str, Any] | None) -> None:
        """Follow the files ``setup`` names (the watcher is restarted only when they change)."""
        try:
            status_file, accept_file = configured_paths(setup, self.settings)
            problem = None
        except WebError as exc:
            status_file, accept_file, problem = None, None, str(exc)
        with self._lock:
            wanted = (status_file, accept_file, problem)
            if wanted == (self.status_file, self.accept_file, self.problem):
                return
            old, self._watcher = self._watcher, None
            self._generation += 1
            self.status_file, self.accept_file, self.problem = wanted
            if status_file is not None:
                self._start_watcher(status_file, self._generation)
        if old is not None:  # outside the lock: its thread may be waiting for the lock
            old.stop()
        self.publish()

    def stop(self) -> None:
        with self._lock:
            old, self._watcher = self._watcher, None
            self._generation += 1
        if old is not None:
            old.stop()

    def describe(self) -> dict[str, Any]:
        """What ``statusfile/main`` carries (see the module doc)."""
        with self._lock:
            return self._describe()

    def acknowledge(self, who: str, sequence: int | None = None) -> Acknowledgement:
        """Write ``who``'s acknowledgement of the status shown (``sequence``: the one they saw)."""
        with self._lock:
            status = self._current()
            if status is None or self.accept_file is None:
                raise StatusFileRefused(
                    "the current Setup names no status file and accept file (web.status_file, "
                    "web.accept_file)"
                )
            if sequence is not None and sequence != status.sequence:
                raise StatusFileRefused(
                    f"the status changed since you saw it (reading {sequence}, now "
                    f"{status.sequence}): look again, then acknowledge"
                )
            try:
                ack = self._accept_file(self.accept_file).acknowledge(status, who)
            except BridgeError as exc:
                raise StatusFileRefused(str(exc)) from None
        log.info("%s acknowledged status %r (reading %d)", who, ack.value, ack.sequence)
        self.publish()
        return ack

    def publish(self, generation: int | None = None) -> None:
        """Publish the current state (unless ``generation`` names a watcher since replaced)."""
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            values = self._describe()
            # Published under the lock, so two readings never reach the hub out of order.
            self.hub.publish([Message(TOPIC, SERVER, time.time(), values)])

    # -- inside the lock ----------------------------------------------------------

    def _describe(self) -> dict[str, Any]:
        status = self._current()
        ack, ack_problem = self._acknowledgement()
        return {
            "configured": self.status_file is not None,
            "status_file": str(self.status_file) if self.status_file else None,
            "accept_file": str(self.accept_file) if self.accept_file else None,
            "status": status.to_json() if status is not None else None,
            "acknowledgement": ack.to_json() if ack is not None else None,
            "acknowledged": bool(
                status is not None and ack is not None and ack.sha256 == status.sha256
            ),
            "problem": self.problem or ack_problem,
        }

    def _current(self) -> StatusContent | None:
        if self._watcher is None:
            return None
        try:
            return self._watcher.current
        except BridgeError:
            return None

    def _acknowledgement(self) -> tuple[Acknowledgement | None, str | None]:
        if self.accept_file is None:
            return None, None
        try:
            return self._accept_file(self.accept_file).read(), None
        except BridgeError as exc:  # someone else's bad file: show why, keep serving
            return None, str(exc)

    def _accept_file(self, path: Path) -> AcceptFile:
        return AcceptFile(path, root=self.data_root)

    def _start_watcher(self, path: Path, generation: int) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if self.accept_file is not None:
                self.accept_file.parent.mkdir(parents=True, exist_ok=True)
            watcher = StatusFileWatcher(
                path, lambda content: self.publish(generation), root=self.data_root
            )
            watcher.start()
        except (OSError, BridgeError) as exc:
            self.problem = f"cannot watch {path}: {exc}"
            log.warning("%s", self.problem)
            return
        self._watcher = watcher
