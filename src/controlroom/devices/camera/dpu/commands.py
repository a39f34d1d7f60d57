"""Commands from the DPU control server to the processor: the command queue and the priority queue.

The FEE takes register writes only in the command window at the end of each
sync period, so a command for the FEE waits in :class:`CommandQueue` until
the processor's loop reaches the next window and sends it as an RMAP write.
Several callers may queue commands for the same window: each gets its own
``Future`` and waits only for its own :class:`CommandReply` (the RMAP
outcome). A caller that gives up may cancel its future; a cancelled command
is not sent.

:class:`PriorityQueue` carries requests the FEE never sees: questions the
processor answers from its mirror of the FEE (mode, frame counter, sync mode,
``num_cycles``, ...) and settings of its own parameters. The loop serves it
several times per sync period, also while it reads image data.

Both queues are bounded and thread-safe: ``submit`` is called from any
thread, the processor's loop takes from them. Each ``submit`` sets the
queue's ``arrived`` event (both of a loop's queues share one), so a loop
that waits with nothing to do wakes at once instead of at its next poll.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from controlroom.device.errors import DeviceError
from controlroom.devices.camera.dpu.waits import WaitCounts

DEFAULT_COMMANDS = 256
DEFAULT_PRIORITY_REQUESTS = 64


class DpuError(DeviceError):
    """Root of every error raised by the DPU processor."""


class QueueFull(DpuError):
    """A queue between the control server and the processor is full; nothing was queued."""


class ProcessorClosed(DpuError):
    """The processor stopped: the queues take nothing more, waiting requests are failed."""


@dataclass(frozen=True)
class SetRegister:
    """Set one register field; the word sent is built from the mirror when it is sent."""

    name: str
    value: int


@dataclass(frozen=True)
class WriteWord:
    """Write a whole 32-bit word at ``address`` (as the FEE stores it, big-endian)."""

    address: int
    word: int


Command = SetRegister | WriteWord


@dataclass(frozen=True)
class CommandReply:
    """The outcome of one command: ``status`` is the RMAP status, None if no reply came."""

    command: Command
    address: int | None
    word: int | None
    status: int | None
    error: str = ""
    frame_counter: int | None = None  # the sync period in whose window it was sent

    @property
    def ok(self) -> bool:
        return self.status == 0 and not self.error

    def as_record(self) -> dict[str, Any]:
        """Plain JSON data, as stored with the next frame."""
        what = (
            {"register": self.command.name, "value": self.command.value}
            if isinstance(self.command, SetRegister)
            else {}
        )
        return {
            **what,
            "address": self.address,
            "word": self.word,
            "status": self.status,
            "error": self.error,
            "frame_counter": self.frame_counter,
        }


@dataclass(frozen=True)
class Query:
    """Ask the processor for a value of its mirror or one of its parameters."""

    name: str


@dataclass(frozen=True)
class Assign:
    """Set one of the processor's parameters (``num_cycles``, ``obsid``, ...)."""

    name: str
    value: object


PriorityRequest = Query | Assign
ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


@dataclass
class Queued(Generic[ItemT, ResultT]):
    """One queued request, the future its caller waits on, and when it was queued."""

    item: ItemT
    future: Future[ResultT]
    queued_s: float = field(default_factory=time.monotonic)


class _BoundedQueue(Generic[ItemT, ResultT]):
    def __init__(self, maxsize: int, what: str, arrived: threading.Event | None) -> None:
        if maxsize < 1:
            raise ValueError(f"{what}: maxsize must be at least 1, not {maxsize}")
        self.maxsize = maxsize
        self.arrived = arrived if arrived is not None else threading.Event()
        self._what = what
        self._lock = threading.Lock()
        self._items: deque[Queued[ItemT, ResultT]] = deque()
        self._closed = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _put(self, item: ItemT) -> Future[ResultT]:
        future: Future[ResultT] = Future()
        with self._lock:
            if self._closed:
                raise ProcessorClosed(f"the DPU processor stopped: {self._what} closed")
            if len(self._items) >= self.maxsize:
                raise QueueFull(f"{self._what} is full ({self.maxsize} waiting): try again later")
            self._items.append(Queued(item, future))
        self.arrived.set()
        return future

    def _take(self, limit: int) -> list[Queued[ItemT, ResultT]]:
        """Up to ``limit`` requests whose callers still wait (cancelled ones are dropped)."""
        taken: list[Queued[ItemT, ResultT]] = []
        with self._lock:
            while self._items and len(taken) < limit:
                queued = self._items.popleft()
                if queued.future.running() or queued.future.set_running_or_notify_cancel():
                    taken.append(queued)
        return taken

    def close(self) -> None:
        """Refuse new requests and fail those still waiting with ProcessorClosed."""
        with self._lock:
            self._closed = True
            waiting, self._items = list(self._items), deque()
        for queued in waiting:
            if queued.future.running() or queued.future.set_running_or_notify_cancel():
                queued.future.set_exception(
                    ProcessorClosed(f"the DPU processor stopped: {queued.item}")
                )


class CommandQueue(_BoundedQueue[Command, CommandReply]):
    """Commands for the FEE, sent in the next command window in the order they came.

    ``check`` refuses a malformed command at ``submit`` (an unknown register,
    a value out of range), so its caller learns at once instead of a window later.
    """

    def __init__(
        self,
        maxsize: int = DEFAULT_COMMANDS,
        check: Callable[[Command], None] | None = None,
        *,
        arrived: threading.Event | None = None,
    ) -> None:
        super().__init__(maxsize, "the DPU command queue", arrived)
        self._check = check

    def submit(self, command: Command) -> Future[CommandReply]:
        if not isinstance(command, SetRegister | WriteWord):
            raise TypeError(f"a DPU command is SetRegister or WriteWord, not {command!r}")
        if self._check is not None:
            self._check(command)
        return self._put(command)

    def take(self, limit: int) -> list[Queued[Command, CommandReply]]:
        return self._take(limit)

    def give_back(self, queued: list[Queued[Command, CommandReply]]) -> None:
        """Put commands that could not be sent back at the front, in their order."""
        with self._lock:
            self._items.extendleft(reversed(queued))


class PriorityQueue(_BoundedQueue[PriorityRequest, object]):
    """Requests answered by the processor itself, without the FEE."""

    def __init__(
        self, maxsize: int = DEFAULT_PRIORITY_REQUESTS, *, arrived: threading.Event | None = None
    ) -> None:
        super().__init__(maxsize, "the DPU priority queue", arrived)
        self.waits = WaitCounts()

    def submit(self, request: PriorityRequest) -> Future[object]:
        if not isinstance(request, Query | Assign):
            raise TypeError(f"a priority request is Query or Assign, not {request!r}")
        return self._put(request)

    def serve(self, answer: Callable[[PriorityRequest], object]) -> int:
        """Answer every request waiting now; how many were answered (their waits are
        counted in ``waits``: call it from one thread, the loop's)."""
        if not self._items:  # read without the lock: one that is coming is served next time
            return 0
        served = self._take(self.maxsize)
        now = time.monotonic()
        for queued in served:
            self.waits.add(now - queued.queued_s)
            try:
                queued.future.set_result(answer(queued.item))
            except Exception as error:  # the caller gets its own error, the loop goes on
                queued.future.set_exception(error)
        return len(served)
