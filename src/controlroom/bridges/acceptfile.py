"""Record an operator's acknowledgement of a status in the accept file.

The accept file holds the latest acknowledgement only: each
one replaces the last, atomically (temporary file + ``os.replace``), so a
reader never sees half a file. Its first line is the acknowledged value, so
a reader that only wants "what was accepted" reads one line; the fields
after it say who, when and which reading (same format as the status file)::

    coffee
    who: alice
    when: 2026-11-01T09:30:00.120000Z
    sequence: 7
    sha256: 5d41402abc4b2a76b9719d911017c592...

The history of acknowledgements belongs in the command journal and the
logs, not in this file.

Given a ``root`` (the panel gives the data directory), the accept file is
only written and read while it lies under it, symlinks followed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controlroom.bridges.errors import AcceptError
from controlroom.bridges.statuscontent import StatusContent, read_status
from controlroom.config.confine import PathOutsideRoot, confined

MAX_NAME = 128
_FIELDS = ("who", "when", "sequence", "sha256")


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged which reading of the status file, and when (UTC)."""

    value: str
    who: str
    when: datetime
    sequence: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "who": self.who,
            "when": _utc_text(self.when),
            "sequence": self.sequence,
            "sha256": self.sha256,
        }

    def to_text(self) -> str:
        lines = [self.value, *(f"{k}: {v}" for k, v in self.to_json().items() if k in _FIELDS)]
        return "\n".join(lines) + "\n"


class AcceptFile:
    """The accept file at ``path``; its directory must exist when writing.

    With ``root``, a path that does not lie under ``root`` (symlinks followed,
    at each write and read) is refused.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None
    ) -> None:
        self._path = Path(os.path.abspath(path))
        self._root = None if root is None else Path(root)

    @property
    def path(self) -> Path:
        return self._path

    def acknowledge(
        self, status: StatusContent, who: str, *, when: datetime | None = None
    ) -> Acknowledgement:
        """Record that ``who`` acknowledged ``status``; returns what was written."""
        if status.state != "ok":
            reason = f"the status is {status.state} ({status.error})"
            raise AcceptError(f"nothing to acknowledge: {reason}")
        ack = Acknowledgement(
            value=status.value,
            who=_checked_name(who),
            when=(when or datetime.now(UTC)).astimezone(UTC),
            sequence=status.sequence,
            sha256=status.sha256,
        )
        self.write(ack)
        return ack

    def write(self, ack: Acknowledgement) -> None:
        """Replace the accept file with ``ack`` in one rename."""
        target = self._target()
        directory = target.parent
        if not directory.is_dir():
            raise AcceptError(f"cannot write {self._path}: {directory} is not a directory")
        try:
            fd, temporary = tempfile.mkstemp(prefix=f".{self._path.name}.", dir=directory)
        except OSError as exc:
            raise AcceptError(f"cannot write {self._path}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(ack.to_text().encode("utf-8"))
                stream.flush()
                os.fsync(stream.fileno())
                os.fchmod(stream.fileno(), 0o644)  # mkstemp's 0600 would hide it from readers
            os.replace(temporary, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise AcceptError(f"cannot write {self._path}: {exc.strerror}") from exc

    def read(self) -> Acknowledgement | None:
        """The recorded acknowledgement; None if there is none yet."""
        content = read_status(self._path, root=self._root, what="accept file")
        if content.state == "missing":
            return None
        if content.state == "error":
            raise AcceptError(f"accept file {self._path}: {content.error}")
        missing = [name for name in _FIELDS if name not in content.fields]
        if missing:
            raise AcceptError(f"accept file {self._path} lacks {', '.join(missing)}")
        fields = content.fields
        try:
            when = datetime.fromisoformat(fields["when"]).astimezone(UTC)
            sequence = int(fields["sequence"])
        except ValueError as exc:
            raise AcceptError(f"accept file {self._path}: {exc}") from exc
        return Acknowledgement(content.value, fields["who"], when, sequence, fields["sha256"])

    def _target(self) -> Path:
        """Where to write: the path, resolved and checked when confined to a root."""
        if self._root is None:
            return self._path
        try:
            return confined(self._path, self._root, "accept file")
        except PathOutsideRoot as exc:
            raise AcceptError(f"cannot write the accept file: {exc}") from None


def _checked_name(who: str) -> str:
    name = who.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise AcceptError(
            f"who must be 1 to {MAX_NAME} printable characters on one line, not {who!r}"
        )
    return name


def _utc_text(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")
