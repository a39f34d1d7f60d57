"""The DPU processor's inner loop: one sync period per :meth:`DpuLoop.run_once`.

Each period: (1) wait for the timecode, (2) read the housekeeping packet,
(3) follow the FEE on the mirror, (4) answer priority requests, (5) in an
image mode read the data packets up to the last one (the storage is told
when a readout starts: a crash mid-readout leaves that frame marked cut),
(6) read the HK area back by RMAP for newer error flags, (7) hand the frame
to the storage and publish, then, whatever failed before, (9) answer
priority requests again and (10) in the command window send the queued
commands, also those that come while it is open. Priority requests are also
answered while waiting and between data packets; in the command window a
request (or a command) ends the loop's wait at once. After every step that
changes the mirror the loop publishes a :class:`~.mirror.Mirror` of it
(:attr:`DpuLoop.mirror`), from which the control endpoint answers queries
without waiting for the loop.

An error ends the period's reading, is reported (:class:`ErrorBursts`) and
the loop goes on: it must never stop. A wait for a timecode that ends
without one is no error (the FEE may be off): it is only counted. The
link's waits are in real time (it blocks in real time); the injected clock
stamps receptions and places the command window, so a test can drive it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from controlroom.device.spacewire import SpaceWireInterface
from controlroom.devices.camera.dpu.commands import (
    Assign,
    CommandQueue,
    CommandReply,
    PriorityQueue,
    PriorityRequest,
)
from controlroom.devices.camera.dpu.handoff import FrameHandoff
from controlroom.devices.camera.dpu.mirror import Mirror
from controlroom.devices.camera.dpu.parameters import answer
from controlroom.devices.camera.dpu.reader import NoTimecode, PacketReader
from controlroom.devices.camera.dpu.readout import ReadoutAssembly, ReadoutIncomplete
from controlroom.devices.camera.dpu.reporting import (
    Clock,
    ErrorBursts,
    FrameSink,
    HearsSubscribers,
    LendsPixels,
    LoopCounters,
    OnError,
    Publish,
    SystemClock,
    Topic,
)
from controlroom.devices.camera.dpu.state import DpuState
from controlroom.devices.camera.dpu.window import CommandSender, WindowTimes, window_times
from controlroom.devices.camera.sequencer import PulsePlan
from controlroom.devices.camera.storage import Frame

_LOG = logging.getLogger(__name__)


@dataclass
class CycleReport:
    """What one :meth:`DpuLoop.run_once` did."""

    timecode: int | None = None
    frame: Frame | None = None
    replies: list[CommandReply] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    window: WindowTimes | None = None


class DpuLoop:
    """Reads the FEE on ``link``, stores frames in ``sink``, sends the queued commands.

    ``poll_s`` bounds how long a priority request waits while the loop
    waits; ``timecode_timeout_s`` (default 1.5 sync periods) ends a wait for
    a timecode. ``resync``: read the FEE's register map into the mirror at
    the start and whenever the FEE turns out to run otherwise than mirrored.
    """

    def __init__(
        self,
        link: SpaceWireInterface,
        sink: FrameSink,
        *,
        state: DpuState | None = None,
        publish: Publish | None = None,
        on_error: OnError | None = None,
        clock: Clock | None = None,
        poll_s: float = 0.05,
        timecode_timeout_s: float | None = None,
        max_commands_per_window: int = 64,
        resync: bool = True,
    ) -> None:
        self.link = link
        self.sink = sink
        self.state = state if state is not None else DpuState()
        # Set by every request queued: a loop waiting in the command window wakes for it.
        self._arrived = threading.Event()
        self.commands = CommandQueue(check=self.state.check_command, arrived=self._arrived)
        self.priorities = PriorityQueue(arrived=self._arrived)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.poll_s = poll_s
        self.timecode_timeout_s = timecode_timeout_s
        self.resync = resync
        self._publish_to = publish
        self._counters = LoopCounters()
        self._errors = ErrorBursts(_LOG, on_error)
        self._reader = PacketReader(link, self.clock, self._counters, self._serve_priority, poll_s)
        self._sender = CommandSender(
            link, self.state, self.commands, self._counters,
            max_commands=max_commands_per_window, changed=self._refresh_mirror,
        )  # fmt: skip
        # Replaced, never changed: any thread may read the latest at any time.
        self.mirror = Mirror.of(self.state)
        self._handoff = FrameHandoff(sink, self.state, self._counters, self._serve_priority, poll_s)
        self._stop = threading.Event()
        self._reader.stop = self._handoff.stop = self._stop
        self._cycle = CycleReport()
        self._hk_readback = b""  # this period's HK area as read back after the readout

    @property
    def counters(self) -> LoopCounters:
        return dataclasses.replace(self._counters)

    def run(self, after_each: Callable[[CycleReport], None] | None = None) -> None:
        """Run periods until :meth:`stop`, then refuse and fail what is still queued;
        ``after_each(report)`` runs on this thread after each (the state is its alone)."""
        try:
            while not self._stop.is_set():
                self._after(self.run_once(), after_each)
        finally:
            self.commands.close()
            self.priorities.close()

    @staticmethod
    def _after(report: CycleReport, after_each: Callable[[CycleReport], None] | None) -> None:
        # A call of its own: no local of run() keeps the report, and the frame's lent
        # pixels with it, alive while the next period runs.
        if after_each is not None:
            after_each(report)

    def stop(self) -> None:
        """Make :meth:`run` return after the step it is in (a wait ends at once)."""
        self._stop.set()
        self._arrived.set()  # ends a wait in the command window

    def run_once(self) -> CycleReport:
        """One sync period (or one wait for it that found none)."""
        self._cycle = report = CycleReport()
        if self.resync and not self.state.synced:
            self._guarded(self._read_register_map, "reading the FEE register map")
        try:
            self._read_period(report)
        except NoTimecode:
            if not self._stop.is_set():  # a wait cut short by a stop is no timeout
                self._counters.timecode_timeouts += 1
        except Exception as error:
            self._fail(error, "reading the sync period")
        self._refresh_mirror()  # also what a step that failed halfway changed
        self._serve_priority()
        if report.window is not None:
            self._guarded(lambda: self._command_window(report), "the command window")
            self._refresh_mirror()
        if not report.errors and report.timecode is not None:
            self._errors.good()
        return report

    def _read_period(self, report: CycleReport) -> None:
        self._hk_readback = b""
        timecode, received_s, at = self._reader.timecode(self._timecode_timeout())
        self._counters.cycles += 1
        report.timecode = timecode
        self.state.on_timecode(timecode, received_s)
        report.window = window_times(self.state, at)
        self._publish(Topic.SYNC_TIMECODE, (timecode, received_s))
        hk, hk_received_s = self._reader.housekeeping(timecode)
        try:
            plan = self.state.on_housekeeping(hk)
        finally:  # once the mirror took it (a reader may ask next); also when out of step
            self._publish(Topic.SYNC_HK_PACKET, (hk, hk_received_s))
        report.window = window_times(self.state, at)  # the sync mode may change on a long pulse
        self._publish(Topic.N_FEE_REGISTER_MAP, self.state.registers.as_array())
        self._serve_priority()
        hk_bytes = bytes(hk.data)
        assembly = None
        if plan.readout is not None:
            self._handoff.begin(plan.frame_counter, timecode, received_s, hk_bytes)
            assembly = self._read_data(plan, report)
        self._guarded(self._read_back_housekeeping, "reading the housekeeping back")
        frame = self._handoff.frame(
            plan.frame_counter, timecode, received_s, hk_bytes, assembly,
            hk_readback=self._hk_readback,
        )  # fmt: skip
        if assembly is not None and not frame.complete:
            problem = f"frame {frame.frame_counter}: {assembly.missing()}"
            self._fail(ReadoutIncomplete(problem), "the readout")
        self._handoff.store(frame)
        report.frame = frame
        self._publish(Topic.NUM_CYCLES, self.state.num_cycles)
        self._publish_file()

    def _read_data(self, plan: PulsePlan, report: CycleReport) -> ReadoutAssembly:
        assert plan.readout is not None
        sink = self._handoff.sink
        lend = sink.lease_pixels if isinstance(sink, LendsPixels) else None
        assembly = ReadoutAssembly(plan.readout, plan.ccd, plan.frame_counter, lend)
        timing = self.state.timing
        wanted = self.state.parameters.publish_data_packets and self._heard(Topic.SYNC_DATA_PACKET)
        publish = self._publish if wanted else None  # per packet: skip the call when unheard
        same_period = self._reader.data(assembly, timing.readout_s / timing.speed, publish)
        if not same_period:
            report.window = None  # the next period began: its timecode is kept for it
        return assembly

    def _read_back_housekeeping(self) -> None:
        area = self.state.housekeeping_area
        self._hk_readback = self.link.read_memory_map(area.start, area.size)
        hk = self.state.on_hk_readback(self._hk_readback)
        payload = (hk.error_flags, hk.frame_counter, self.clock.time())
        self._publish(Topic.SYNC_ERROR_FLAGS, payload)

    def _read_register_map(self) -> None:
        area = self.state.config_area
        self.state.on_config_read(self.link.read_memory_map(area.start, area.size))
        self._refresh_mirror()
        self._counters.resyncs += 1

    def _command_window(self, report: CycleReport) -> None:
        """Wait for the window, then send the queued commands (also those that come)."""
        if report.window is not None:
            frame_counter = self.state.frame_counter
            report.replies = self._sender.hold(report.window, frame_counter, self.clock, self._idle)
            self._handoff.sent.extend(report.replies)

    def _idle(self, until: float) -> bool:
        """Wait a little, up to ``until``, answering priority requests; False when the
        window must be left: the loop stops, or the next period began already.

        A request queued meanwhile ends the wait at once (a priority request is
        answered, a command sent, without waiting for the next poll)."""
        if self._stop.is_set() or self._reader.early_timecode():
            return False
        self._arrived.clear()  # before serving: what comes after it ends the wait below
        self._serve_priority()
        self.clock.wait(self._arrived, min(self.poll_s, until - self.clock.monotonic()))
        return True

    def _serve_priority(self) -> None:
        self._counters.priority_served += self.priorities.serve(self._answer)

    def _answer(self, request: PriorityRequest) -> object:
        result = answer(self.state, request)
        if isinstance(request, Assign):
            self._refresh_mirror()  # before its caller hears of it: its next read sees it
        return result

    def _refresh_mirror(self) -> None:
        self.mirror = Mirror.of(self.state)

    def _timecode_timeout(self) -> float:
        if self.timecode_timeout_s is not None:
            return self.timecode_timeout_s
        return 1.5 * self.state.timing.period

    def _heard(self, topic: Topic) -> bool:
        """Whether publishing ``topic`` reaches anybody (asked once per readout, not per packet)."""
        publish: object = self._publish_to
        if isinstance(publish, HearsSubscribers):
            return publish.wants(topic)
        return publish is not None

    def _publish(self, topic: Topic, payload: object) -> None:
        if topic is not Topic.SYNC_DATA_PACKET:  # a reader of it may ask next: it sees as much
            self._refresh_mirror()
        if self._publish_to is None:
            return
        try:
            self._publish_to(topic, payload)
        except Exception as error:  # a subscriber's trouble must not cost a frame
            self._fail(error, f"publishing {topic}")

    def _publish_file(self) -> None:
        path = self._handoff.new_file()
        if path is not None:
            self._publish(Topic.HDF5_FILENAMES, [path])

    def _guarded(self, step: Callable[[], object], during: str) -> None:
        try:
            step()
        except Exception as error:
            self._fail(error, during)

    def _fail(self, error: BaseException, during: str) -> None:
        self._counters.errors += 1
        self._cycle.errors.append(error)
        self._errors.error(error, during)
        # Logged: the report keeps the error, not the frames it rose through, whose
        # locals (a readout's lent pixels) would otherwise wait for the garbage collector.
        error.__traceback__ = None
