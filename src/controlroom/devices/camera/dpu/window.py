"""The command window: queued commands go to the FEE as RMAP writes, each caller gets its outcome.

The window opens ``readout_s`` after the pulse and closes with the next one
(a guard before it, a tenth of the window but at least 25 ms, keeps a write
from landing in the next pulse's readout).
First go the processor's own commands: clearing the FEE's error flags when
they are set (and the processor is asked to), then DUMP when ``num_cycles``
ran out; then the queued commands in the order they came, at most
``max_commands`` per window. A command the FEE refused or left unanswered
gets that outcome; when the link itself fails, the command being sent gets
the error and the rest wait for the next window. A command is never lost:
it is sent, answered with an error, or still queued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from controlroom.device.errors import ArgumentError
from controlroom.device.spacewire import NoReply, RmapError, SpaceWireInterface
from controlroom.devices.camera.dpu.commands import Command, CommandQueue, CommandReply, SetRegister
from controlroom.devices.camera.dpu.reporting import Clock, LoopCounters
from controlroom.devices.camera.dpu.state import DpuState
from controlroom.devices.camera.errors import FeeError
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.registers import encode_word

GUARD_FRACTION = 0.1  # of the command window, kept free before the next pulse
# The timecode reaches the processor a little after the FEE's pulse (link, scheduler):
# a window sped up for tests keeps at least this much, but never more than half of it.
MIN_GUARD_S = 0.025
MAX_GUARD_FRACTION = 0.5
CLEAR_ERROR_FLAGS = SetRegister("clear_error_flag", 1)
GO_TO_DUMP = SetRegister("ccd_mode_config", int(FeeMode.DUMP))


@dataclass(frozen=True)
class WindowTimes:
    """When the window opens and closes, on the loop's monotonic clock."""

    opens: float
    closes: float


def window_times(state: DpuState, timecode_at: float) -> WindowTimes:
    """The window of the pulse whose timecode arrived at ``timecode_at`` (monotonic)."""
    timing = state.timing
    opens = timecode_at + timing.readout_s / timing.speed
    window = timing.command_window
    guard = min(max(GUARD_FRACTION * window, MIN_GUARD_S), MAX_GUARD_FRACTION * window)
    return WindowTimes(opens, timecode_at + timing.period - guard)


class CommandSender:
    """Sends one window's commands over ``link`` and completes their callers' futures."""

    def __init__(
        self,
        link: SpaceWireInterface,
        state: DpuState,
        commands: CommandQueue,
        counters: LoopCounters,
        *,
        max_commands: int = 64,
        changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.link = link
        self.state = state
        self.commands = commands
        self.counters = counters
        self.max_commands = max_commands
        # Called when a write changed the mirror, before its caller hears of it.
        self.changed = changed

    def own_commands(self) -> list[Command]:
        """The processor's own commands due in this window."""
        own: list[Command] = []
        clear_pending = self.state.registers.get("clear_error_flag", pending=True)
        if self.state.error_flags and self.state.parameters.clear_error_flags and not clear_pending:
            own.append(CLEAR_ERROR_FLAGS)
        if self.state.dump_due:
            own.append(GO_TO_DUMP)
        return own

    def has_work(self) -> bool:
        return bool(self.own_commands()) or len(self.commands) > 0

    def send(
        self, frame_counter: int | None, still_open: Callable[[], bool], limit: int | None = None
    ) -> list[CommandReply]:
        """Send what is due while ``still_open()``, at most ``limit`` queued commands
        (default ``max_commands``); the replies, own commands included."""
        replies: list[CommandReply] = []
        for command in self.own_commands():
            if not still_open():
                return replies
            reply, link_failed = self._send_one(command, frame_counter)
            replies.append(reply)
            if reply.ok and command == GO_TO_DUMP:
                self.state.dump_due = False
                self.changed()
            if link_failed:
                return replies  # the queued commands wait for the next window
        most = self.max_commands if limit is None else min(limit, self.max_commands)
        queued = self.commands.take(most) if most > 0 else []
        for index, item in enumerate(queued):
            if not still_open():
                self.commands.give_back(queued[index:])
                break
            reply, link_failed = self._send_one(item.item, frame_counter)
            item.future.set_result(reply)
            replies.append(reply)
            if link_failed:
                self.commands.give_back(queued[index + 1 :])
                break
        return replies

    def hold(
        self,
        window: WindowTimes,
        frame_counter: int | None,
        clock: Clock,
        idle: Callable[[float], bool],
    ) -> list[CommandReply]:
        """Wait for ``window``, then send what is queued, also what comes, until it closes.

        At most ``max_commands`` queued commands go; what cannot go (too
        many, the link failed) waits for the next window. ``idle(until)``
        waits a little while there is nothing to do, and ends the window
        early by returning False. The replies, own commands included.
        """

        def still_open() -> bool:
            return clock.monotonic() < window.closes

        while clock.monotonic() < window.opens:
            if not idle(window.opens):
                return []
        replies: list[CommandReply] = []
        while still_open():
            if not self.has_work():
                if not idle(window.closes):
                    break
                continue
            replies += self.send(frame_counter, still_open, limit=self.max_commands - len(replies))
            if self.has_work():
                break
        return replies

    def _send_one(self, command: Command, frame_counter: int | None) -> tuple[CommandReply, bool]:
        """The reply to ``command``, and whether the link itself failed."""
        address: int | None = None
        word: int | None = None
        status: int | None = None
        failure: Exception
        try:
            address, word = self.state.command_word(command)
            self.link.write_register(address, encode_word(word))
        except RmapError as error:  # the FEE answered: refused
            failure, status, link_failed = error, error.status, False
        except (NoReply, FeeError, ArgumentError) as error:  # unanswered, or not sendable
            failure, link_failed = error, False
        except Exception as error:  # the link is down or overrun (or worse): stop this window
            failure, link_failed = error, True
        else:
            self.state.on_write_accepted(address, word)
            self.changed()
            self.counters.commands_sent += 1
            return CommandReply(command, address, word, 0, "", frame_counter), False
        self.counters.commands_failed += 1
        text = f"{type(failure).__name__}: {failure}"
        return CommandReply(command, address, word, status, text, frame_counter), link_failed
