"""Cutting a node's byte stream into lines, with a bound on the length of one line.

A node that never sends a newline must not make the bridge hold an ever
longer line: once the unfinished line passes ``max_bytes`` it is reported as
overlong (once) and the rest of it, up to its newline, is skipped. When the
node closes, a last line it did not end with a newline is still a line.
"""

from __future__ import annotations


class LineSplitter:
    """Feed chunks, get whole lines as ``(bytes, overlong)``, a ``\\r`` before ``\\n`` dropped."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pending = b""
        self._skipping = False  # inside an overlong line already reported

    def feed(self, chunk: bytes) -> list[tuple[bytes, bool]]:
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        if self._skipping and lines:
            lines.pop(0)  # the end of the overlong line
            self._skipping = False
        found = [(raw.rstrip(b"\r"), len(raw) > self.max_bytes) for raw in lines]
        if len(self._pending) > self.max_bytes:
            if not self._skipping:
                found.append((self._pending, True))
            self._pending, self._skipping = b"", True
        return found

    def finish(self) -> list[tuple[bytes, bool]]:
        """The stream ended: its unfinished last line, if any (never an overlong one)."""
        last, self._pending, self._skipping = self._pending, b"", False
        return [(last.rstrip(b"\r"), False)] if last else []
