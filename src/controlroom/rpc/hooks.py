"""Extension points of a control server, filled by the layers above rpc.

rpc knows nothing of storage, telemetry dictionaries or metrics; those layers
attach here when a server is built:

* a *command observer* sees every device command once it has run, every
  service command that changes something and every refused call. Those in
  ``command_observers`` run before the reply is sent, so whoever got the
  answer finds the call observed; those in ``reply_observers`` (the command
  journal on its way to storage, metrics) run right after the reply is sent,
  off the caller's wait, and before the server handles its next message, so
  any later answer from that server comes after them;
* the *housekeeping transform* turns a raw sample into the stored one
  (canonical names, calibration, limit checks, synoptics);
* a *housekeeping sink* receives every transformed sample (the sender to the
  storage manager, metrics).

Observers and sinks run on the server's own threads, right after the work
they describe: they must return at once (queue the work, never wait on I/O).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controlroom.wire import ErrorInfo


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One device command as it happened."""

    time: float  # UTC seconds when it started
    server: str
    command: str
    args: list[Any]
    kwargs: dict[str, Any]
    duration_s: float
    result: Any = None
    error: ErrorInfo | None = None
    caller: str = ""  # who, as the server authenticated them (rpc.access.Caller.identity)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class HkSample:
    """One housekeeping sample after the transform."""

    server: str
    time: float  # UTC seconds
    values: dict[str, Any]


CommandObserver = Callable[[CommandRecord], None]
HkTransform = Callable[[str, float, dict[str, Any]], dict[str, Any]]
HkSink = Callable[[HkSample], None]


@dataclass
class Hooks:
    """What is attached to one server."""

    command_observers: list[CommandObserver] = field(default_factory=list)
    reply_observers: list[CommandObserver] = field(default_factory=list)
    hk_sinks: list[HkSink] = field(default_factory=list)
    hk_transform: HkTransform | None = None
