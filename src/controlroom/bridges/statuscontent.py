"""What a watched status file holds, parsed into a value the panel can show.

The format (an E.O.T. status file is one value on one line; we add
optional fields so a writer can say more without a new format)::

    coffee                  <- value: the first line that is not a field
    position: 3             <- fields: ``key: value`` lines, last one wins
    set_by: teensy

* A *field* line is ``key: value`` where ``key`` starts with a letter or
  ``_`` and holds letters, digits, ``_``, ``-`` or ``.`` (so ``12:30`` is a
  value, not a field). Keys and values are stripped of surrounding blanks.
* ``value`` is the first non-blank line that is not a field, stripped
  (``""`` if there is none); ``text`` is the whole file with trailing
  whitespace removed, exactly what such a page pushes to its browsers.
* The file must be UTF-8 and at most :data:`MAX_BYTES` long. A file that
  breaks either rule, or cannot be read, is delivered with ``state ==
  "error"`` and ``error`` saying why; a file that does not exist has
  ``state == "missing"``. Neither stops the watcher.
* Given a ``root``, a file that does not lie under it once every symlink is
  followed is not read: the reading is an ``error`` saying so.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from controlroom.config.confine import PathOutsideRoot, confined

MAX_BYTES = 64 * 1024
State = Literal["ok", "missing", "error"]
_FIELD = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*:\s?(.*)$")


@dataclass(frozen=True)
class StatusContent:
    """One reading of the status file; ``sequence`` counts deliveries from 1."""

    sequence: int
    state: State
    text: str = ""
    value: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    sha256: str = ""
    read_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        """Plain data for a WebSocket message or an HTTP answer."""
        return {**asdict(self), "read_at": self.read_at.isoformat().replace("+00:00", "Z")}

    def same_content(self, other: StatusContent | None) -> bool:
        """True when ``other`` read the same bytes (or the same absence)."""
        return other is not None and (self.state, self.sha256) == (other.state, other.sha256)


def parse_status(raw: bytes, sequence: int = 0) -> StatusContent:
    """Parse the bytes of a status file; bad content becomes an ``error`` reading."""
    digest = hashlib.sha256(raw).hexdigest()
    if len(raw) > MAX_BYTES:
        reason = f"status file is larger than the {MAX_BYTES} bytes allowed"
        return StatusContent(sequence, "error", error=reason, sha256=digest)
    try:
        text = raw.decode("utf-8").rstrip()
    except UnicodeDecodeError as exc:
        reason = f"status file is not UTF-8: byte {exc.start} is {raw[exc.start]:#04x}"
        return StatusContent(sequence, "error", error=reason, sha256=digest)
    value, fields = _split_lines(text)
    return StatusContent(sequence, "ok", text=text, value=value, fields=fields, sha256=digest)


def _split_lines(text: str) -> tuple[str, dict[str, str]]:
    value: str | None = None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if match := _FIELD.match(line):
            fields[match.group(1)] = match.group(2).strip()
        elif value is None and line.strip():
            value = line.strip()
    return value or "", fields


def read_status(
    path: Path, sequence: int = 0, *, root: Path | None = None, what: str = "status file"
) -> StatusContent:
    """Read and parse ``path``; a missing or unreadable file is a reading too.

    With ``root``, only a file under ``root`` (symlinks followed, at this very
    read) is read; any other is an ``error`` reading naming the file as ``what``.
    """
    try:
        target = path if root is None else confined(path, root, what)
    except PathOutsideRoot as exc:
        return StatusContent(sequence, "error", error=str(exc))
    try:
        with path.open("rb") if root is None else open_resolved(target) as stream:
            # One byte more than allowed tells "too large" without reading a huge file.
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return StatusContent(sequence, "missing", error=f"{path} does not exist")
    except OSError as exc:
        return StatusContent(sequence, "error", error=f"cannot read {path}: {exc.strerror}")
    return parse_status(raw, sequence)


def open_resolved(path: Path) -> IO[bytes]:
    """The file at ``path``, resolved just before, opened for reading.

    A symlink at ``path`` now was swapped in since it was resolved (and
    checked): it is not followed, the open fails.
    """
    return os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb")
