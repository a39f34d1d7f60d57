"""Commands that interrupt: stop, abort, emergency off, close the shutter.

A control server runs device commands one at a time. A command declared with
``@command(..., interrupts=True)`` is the exception: the server runs it at
once, even while another device command of the same device is in progress
(a move that waits until the axis is in position, a ramp, a long scan). Each
exchange on a transport is atomic, so its line reaches the instrument between
two exchanges of the waiting command, never inside one.

How the waiting command notices is the driver's choice. Each controller has
an :class:`Interruption`; it is signalled once an interrupting command has
gone out without an error. A command that waits opens a :class:`Watch` when
it starts, sends what starts the action through :meth:`Watch.sending`, and
sleeps through the watch; the watch raises :class:`Interrupted` once any
interrupting command has run since it was opened::

    @command(interrupts=True)
    def stop(self, axis: Axis) -> None: ...

    @command()
    def move_absolute(self, axis: Axis, position: float, wait: bool = False) -> float:
        watch = self.interruption.watch()  # opened as the command starts
        lower, upper = self.soft_limits(axis)  # a stop may come meanwhile...
        with watch.sending():  # ...then the move is never sent: Interrupted
            self.start_move_absolute(axis, position)
        while wait and not self.motion_done(axis):
            watch.sleep(0.05)  # raises Interrupted after a stop

A watch counts interruptions from the moment it opens, so a stop that came
before the command started does not end it, and nothing has to be reset. An
interrupting command and the sending of a watched action exclude each other:
either the action went out first (and the stop stops it) or the stop did (and
the action is not sent).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from controlroom.device.errors import DeviceError


class Interrupted(DeviceError):
    """A command ended early because an interrupting command (stop, abort...) ran."""


class Interruption:
    """Counts the interrupting commands run on one device, and wakes whoever waits."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        # An interrupting command / a watched action or a shared-register handshake going out.
        # Reentrant: an interrupting command may use the driver's own handshakes.
        self._order = threading.RLock()
        self._count = 0
        self._last = ""

    @property
    def count(self) -> int:
        """Interrupting commands signalled so far."""
        return self._count

    def signal(self, by: str) -> None:
        """An interrupting command named ``by`` is about to run: wake every watch."""
        with self._changed:
            self._count += 1
            self._last = by
            self._changed.notify_all()

    @contextmanager
    def interrupting(self, by: str) -> Iterator[None]:
        """Around an interrupting command: signalled once it went out without an error.

        A stop the instrument refused (or that never reached it) ends no wait:
        the axis may still be moving.
        """
        with self._order:
            yield
            self.signal(by)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Around exchanges an interrupting command must not come between.

        For instruments whose commands share one register (written, then read
        until the instrument answers in it): a stop waits until such a
        handshake is over (one exchange or two) rather than take its answer.
        """
        with self._order:
            yield

    def watch(self) -> Watch:
        """A watch that trips on the interruptions signalled from now on."""
        return Watch(self, self._count)

    def _since(self, seen: int, timeout: float) -> str | None:
        """Wait up to ``timeout`` s for a signal after ``seen``; the command that sent it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._count == seen:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
            return self._last


class Watch:
    """One waiting command's view of its device's interruptions."""

    def __init__(self, interruption: Interruption, seen: int) -> None:
        self._interruption = interruption
        self._seen = seen

    @property
    def tripped(self) -> bool:
        """Whether an interrupting command has run since the watch opened."""
        return self._interruption.count != self._seen

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Around the exchange that starts the watched action (a move, a ramp).

        Raises :class:`Interrupted` instead of sending when an interrupting
        command ran since the watch opened; while the action goes out, an
        interrupting command waits for it (one exchange) so it always comes after.
        """
        with self._interruption._order:
            self.check()
            yield

    def check(self) -> None:
        """Raise :class:`Interrupted` if an interrupting command has run since the watch opened."""
        if self.tripped:
            self.sleep(0)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or raise :class:`Interrupted` as soon as the device is interrupted."""
        by = self._interruption._since(self._seen, max(0.0, seconds))
        if by is not None:
            raise Interrupted(f"interrupted by {by}")
