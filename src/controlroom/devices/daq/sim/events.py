"""The DAQ6510's error queue and operation register (pure, no I/O).

The instrument writes an error queue entry as ``<code>,"<message>;<severity>;<time>"``,
``0,"No error;0;0 0"`` when the queue is empty. Its operation register has no
fixed meaning: a client maps a bit to the events that set and clear it
(``STAT:OPER:MAP 0, 4917, 4918``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from controlroom.device.simkit.scpi import ERROR_TEXT, ErrorQueue, ErrorWording, ScpiError

QUEUE_DEPTH = 20
NO_ERROR = '0,"No error;0;0 0"'
SEVERITY_ERROR = 1
TRIGGER_MODEL_RUNNING = 4917
TRIGGER_MODEL_IDLE = 4918
"""The two events the simulated instrument raises: a scan starts, a scan ends."""
OPERATION_BITS = range(15)


class EventLog(ErrorQueue):
    """Errors oldest first, stamped with the instrument's clock; the last entry of a
    full queue becomes -350 so the first errors (usually the cause) are kept."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        super().__init__(ErrorWording(depth=QUEUE_DEPTH))
        self._clock = clock

    def push(self, error: ScpiError) -> None:
        if len(self._entries) >= self.wording.depth:
            self._entries[-1] = self._entry(-350, "")
            return
        self._entries.append(self._entry(error.code, error.detail))

    def pop(self) -> str:
        return self._entries.popleft() if self._entries else NO_ERROR

    def _entry(self, code: int, detail: str) -> str:
        text = ERROR_TEXT.get(code, "Error") + (f", {detail}" if detail else "")
        # ";" separates the fields of the entry and '"' ends it: neither may appear in the text.
        text = text.replace(";", ",").replace('"', "'")
        stamp = self._clock().strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]
        return f'{code},"{text};{SEVERITY_ERROR};{stamp}"'


@dataclass
class OperationRegister:
    """Condition and event bits driven by the events mapped onto them."""

    maps: dict[int, tuple[int, int]] = field(default_factory=dict)
    condition: int = 0
    event: int = 0
    enable: int = 0

    def map(self, bit: int, set_event: int, clear_event: int) -> None:
        if bit not in OPERATION_BITS:
            raise ScpiError(-222, f"operation register bits are 0-{OPERATION_BITS[-1]}")
        self.maps[bit] = (set_event, clear_event)
        self.condition &= ~(1 << bit)

    def raise_event(self, number: int) -> None:
        for bit, (set_event, clear_event) in self.maps.items():
            if number == set_event:
                self.condition |= 1 << bit
                self.event |= 1 << bit
            elif number == clear_event:
                self.condition &= ~(1 << bit)

    def read_event(self) -> int:
        value, self.event = self.event, 0
        return value

    def preset(self) -> None:
        """``STAT:PRES``: no bit mapped, nothing enabled."""
        self.maps.clear()
        self.condition = self.event = self.enable = 0
