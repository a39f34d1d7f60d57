"""The DAQ6510's reading buffers: ``defbuffer1``, ``defbuffer2`` and buffers a client makes.

Every reading the instrument makes goes into a buffer with its channel, unit,
time and status; ``TRAC:DATA?`` reads them back by index, 1 being the oldest
reading still held. A buffer in continuous fill mode drops its oldest reading
when full; one filled once stops storing.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from controlroom.device.simkit.scpi import ScpiError

DEFAULT_CAPACITY = 100_000
MIN_CAPACITY = 10
MAX_CAPACITY = 7_000_000
DEFAULT_NAMES = ("defbuffer1", "defbuffer2")
MAX_NAME = 31

STATUS_QUESTIONABLE = 1
"""Status bit of a reading the instrument could not make (overflow)."""
STATUS_START_GROUP = 256
"""Status bit of the first reading of each sweep of a scan."""


@dataclass(frozen=True)
class Entry:
    """One stored reading."""

    reading: float
    channel: int
    unit: str
    moment: float  # simulated seconds since power-on
    status: int = 0


class ReadingBuffer:
    """A bounded list of readings, oldest first."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.continuous = True
        self._entries: collections.deque[Entry] = collections.deque()

    def add(self, entry: Entry) -> None:
        if len(self._entries) >= self.capacity:
            if not self.continuous:
                return
            self._entries.popleft()
        self._entries.append(entry)

    def clear(self) -> None:
        self._entries.clear()

    def resize(self, capacity: int) -> None:
        """New capacity; like the instrument, this clears the buffer."""
        self.capacity = capacity
        self.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def latest(self) -> Entry:
        if not self._entries:
            raise ScpiError(-230, "the buffer holds no readings")
        return self._entries[-1]

    def span(self, start: int, end: int) -> list[Entry]:
        """Readings ``start`` to ``end`` inclusive, counted from 1."""
        if not 1 <= start <= end <= len(self._entries):
            raise ScpiError(-222, f"indexes {start} to {end}: the buffer holds {len(self)}")
        return [self._entries[index] for index in range(start - 1, end)]


class Buffers:
    """The buffers by name; the two default buffers always exist."""

    def __init__(self) -> None:
        self._buffers: dict[str, ReadingBuffer] = {}
        self.reset()

    def reset(self) -> None:
        """``*RST``: user buffers are deleted, the default buffers emptied and resized."""
        self._buffers = {name: ReadingBuffer() for name in DEFAULT_NAMES}

    def get(self, name: str) -> ReadingBuffer:
        found = self._buffers.get(name.lower())
        if found is None:
            raise ScpiError(-224, f"no reading buffer named {name}")
        return found

    def make(self, name: str, capacity: int) -> None:
        key = name.lower()
        if key in self._buffers:
            raise ScpiError(-221, f"a reading buffer named {name} exists")
        if not name[:1].isalpha() or "." in name or "_" in name or len(name) > MAX_NAME:
            raise ScpiError(-224, f"{name!r} is not a buffer name")
        self._buffers[key] = ReadingBuffer(check_capacity(capacity))

    def delete(self, name: str) -> None:
        key = name.lower()
        if key in DEFAULT_NAMES:
            raise ScpiError(-221, f"{name} cannot be deleted")
        self.get(name)
        del self._buffers[key]


def check_capacity(capacity: int) -> int:
    if not MIN_CAPACITY <= capacity <= MAX_CAPACITY:
        raise ScpiError(-222, f"a buffer holds {MIN_CAPACITY} to {MAX_CAPACITY} readings")
    return capacity
