"""The simulated FEE: the sync cycle in real time on one SpaceWire link.

On every pulse the FEE sends its timecode, then its HK packet, then, in an
image mode with ``digitise_en``, the packets of the CCD read out on that
pulse; between packets (a look every millisecond) and for the rest of the
period it answers the DPU's RMAP commands (:mod:`.commands`). Pulses follow a
monotonic clock, ``speed`` times faster than real time; pulse 0 is when
:meth:`FeeSimulator.run` starts.

A readout leaves at the CCD's pace, its packets spread over the readout
phase as rows are clocked out (:mod:`.pace`), answering the DPU's commands
in between; with ``burst`` it goes as fast as the link takes it. When one
outlasts a period (full frames at speed 100: 62.5 ms periods) readouts follow
back to back and the pulses within one are missed: the stream runs at the
link's pace, as bench/camera.py uses it; no command window is left, so
command the mode first.

The FEE runs whether or not a DPU listens, as the hardware does: a pulse
with no DPU connected is kept (the register map is loaded, the counters
run) but sends nothing, and a DPU that restarts gets the stream again
(:mod:`.presence`). A readout still going when the command window opens
raises TX_BUFFER_OVERFLOW (the link could not take the data in time); a
pulse whose whole period passed before it could start is missed (counted,
bookkeeping only). One thread does all of it: a ZeroMQ socket is not
thread-safe, and sending and answering interleave packet by packet.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from controlroom.device.spacewire import LinkDown, NoPacket, SpaceWireError, SpaceWireInterface
from controlroom.devices.camera.cycle import PulseKind, SyncTiming
from controlroom.devices.camera.errors import TimingError
from controlroom.devices.camera.modes import ErrorFlag
from controlroom.devices.camera.registers import RegisterMap
from controlroom.devices.camera.sequencer import (
    PulsePlan,
    WriteOutcome,
    command_write,
    raise_error_flag,
    start_pulse,
)
from controlroom.devices.camera.sim.commands import BurstLog, CommandPort
from controlroom.devices.camera.sim.pace import ReadoutPace
from controlroom.devices.camera.sim.packets import PacketMaker
from controlroom.devices.camera.sim.pixels import PixelPipeline, plan_parts, predicted_parts
from controlroom.devices.camera.sim.presence import DpuPresence

_LOG = logging.getLogger(__name__)

STOP_CHECK_S = 0.05  # longest wait before a stop request is seen
SERVE_EVERY_S = 0.001  # during a readout, a look for commands between packets this often


@dataclass
class PulseCounters:
    pulses: int = 0  # pulses sent: timecode, HK and the readout
    unheard: int = 0  # pulses with no DPU connected: nothing sent
    missed: int = 0  # pulses whose period had passed before they could start
    late_readouts: int = 0  # readouts still sending when the command window opened
    abandoned_readouts: int = 0  # readouts cut short: the link went down
    data_packets: int = 0
    data_bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def upcoming_pulse(started: int, started_at: float, period: float, now: float) -> int:
    """The pulse sent next after pulse ``started`` (due at ``started_at``), seen at ``now``.

    After a readout that ran past the next pulses, those are missed: the next
    one sent is the first whose period is still running.
    """
    late = now - (started_at + period)
    return started + 1 + max(0, math.floor(late / period))


class FeeSimulator:
    """An N-FEE like front end on ``link`` (bound, not yet connected to a DPU)."""

    def __init__(
        self,
        link: SpaceWireInterface,
        *,
        speed: float = 1.0,
        seed: int = 0,
        burst: bool = False,
        registers: RegisterMap | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self.registers = registers if registers is not None else RegisterMap.load()
        self.speed = speed
        self.burst = burst
        self.timing = SyncTiming.from_registers(self.registers, speed=speed)
        self.commands = CommandPort(self.registers, self._write_outcome)
        self.packets = PacketMaker()
        self.pixels = PixelPipeline(seed)
        self.counters = PulseCounters()
        self._clock = clock
        self._dpu = DpuPresence(link, clock)
        self._number = -1  # the pulse in progress (-1: before pulse 0)
        self._pulse_start = 0.0
        self._stopping = False
        # A stalled process (suspended, swapping) misses pulses many in a row, and a
        # machine too slow for the speed is late on every pulse: logged per run.
        self._missed = BurstLog(_LOG, "pulses missed")
        self._late = BurstLog(_LOG, "readouts ran into the command window")
        self._cut = BurstLog(_LOG, "pulses cut short")

    def stop(self) -> None:
        """Stop after the packet being sent (safe from a signal handler: sets a flag)."""
        self._stopping = True

    def run(self) -> None:
        """Run the sync cycle until :meth:`stop`."""
        try:
            self._cycle()
        finally:
            self.pixels.close()

    def _cycle(self) -> None:
        due = self._clock()
        number = 0
        while True:
            self._serve_until(due)
            if self._stopping:
                return
            plan = self._start_pulse(number, due)
            if self._clock() >= due + self.timing.period:
                self.counters.missed += 1
                self._missed.bad(f"pulse {number}: its period passed before it could start")
            else:
                if not self._late.length:  # streaming late, misses come in a long run
                    self._missed.good()
                if self._dpu.connected():
                    self._send_pulse(plan)
                else:
                    self.counters.unheard += 1
            number += 1
            due += self.timing.period
            if self._dpu.connected():  # nobody would take the pixels otherwise
                self._predict_next()

    def summary(self) -> dict[str, dict[str, int]]:
        """Every counter: the pulses, the DPU's commands and the link."""
        return {
            "pulses": self.counters.as_dict() | {"fresh_starts": self._dpu.fresh_starts},
            "pixels": {"predicted": self.pixels.hits, "not_predicted": self.pixels.misses},
            "commands": self.commands.counters.as_dict(),
            "link": self.link.counters.as_dict(),
        }

    def _start_pulse(self, number: int, due: float) -> PulsePlan:
        self._number, self._pulse_start = number, due
        plan = start_pulse(self.registers, self.timing.pulse(number))
        if plan.pulse.kind is PulseKind.LONG:
            self._follow_sync_settings()
        return plan

    def _follow_sync_settings(self) -> None:
        """The register map just loaded may select another sync period."""
        try:
            timing = SyncTiming.from_registers(self.registers, speed=self.speed)
        except TimingError as error:
            raise_error_flag(self.registers, ErrorFlag.INVALID_READOUT)
            _LOG.warning(
                "sync settings refused, keeping a %.3f s period: %s", self.timing.period_s, error
            )
            return
        if timing != self.timing:
            # Pulse numbers go on; the cycle time of pulse n is rebased on the new period.
            self.timing = timing

    def _send_pulse(self, plan: PulsePlan) -> None:
        try:
            self.link.send_timecode(plan.pulse.timecode)
            self.link.write_packet(self.packets.housekeeping(plan, self._hk_area()))
            self.counters.pulses += 1
            self._send_readout(plan)
        except SpaceWireError as error:  # LinkDown: the DPU left, or stopped reading
            self.counters.abandoned_readouts += 1
            self._cut.bad(f"pulse {plan.pulse.number}: {error}")
            self._dpu.listen_afresh()  # packets queued for a DPU that left block the next one
            return
        self._cut.good()

    def _send_readout(self, plan: PulsePlan) -> None:
        window_opens = self._pulse_start + self.timing.readout_s / self.timing.speed
        self.pixels.prepare(plan_parts(plan), current=True)
        pace = self._pace(plan)
        next_look = self._clock()
        for index, packet in enumerate(self.packets.readout(plan, self.pixels.take)):
            if pace.span:
                self._serve_until(pace.due(index))
            self.link.write_packet(packet)
            self.counters.data_packets += 1
            self.counters.data_bytes += len(packet)
            # A look for commands costs a third of a send: once a millisecond is enough.
            if (now := self._clock()) >= next_look:
                self._serve(0.0)
                next_look = now + SERVE_EVERY_S
            if self._stopping:
                return
        if plan.readout is None or self._clock() <= window_opens:
            self._late.good()
            return
        self.counters.late_readouts += 1
        raise_error_flag(self.registers, ErrorFlag.TX_BUFFER_OVERFLOW)
        self._late.bad(f"pulse {plan.pulse.number}, at speed {self.speed:g}")

    def _pace(self, plan: PulsePlan) -> ReadoutPace:
        if plan.readout is None:
            return ReadoutPace(self._pulse_start, 0.0, 1)
        return ReadoutPace.of(plan.readout, self.timing, self._pulse_start, burst=self.burst)

    def _hk_area(self) -> bytes:
        return self.registers.read_area("housekeeping")

    def _serve_until(self, deadline: float) -> None:
        while not self._stopping:
            left = deadline - self._clock()
            if left <= 0:
                return
            self._serve(min(left, STOP_CHECK_S))

    def _serve(self, timeout: float) -> None:
        """Answer one command from the DPU if one comes within ``timeout`` seconds."""
        corrupt = self.link.counters.corrupt
        try:
            flags, data = self.link.read_packet(timeout)
        except NoPacket:
            return
        finally:
            if self.link.counters.corrupt > corrupt:
                self.commands.corrupt(self.link.counters.corrupt - corrupt)
        writes = self.commands.counters.writes
        reply = self.commands.handle(flags, data)
        if self.commands.counters.writes > writes:
            self._predict_next()  # the next long pulse may read out something else now
        if reply is None:
            return
        try:
            self.link.write_packet(reply)
        except LinkDown as error:  # the DPU left before its answer: nobody to tell
            _LOG.warning("RMAP reply not sent: %s", error)

    def _predict_next(self) -> None:
        """Have the pixels of the next pulse computed while this period runs out."""
        number = self._number + 1
        if self._number >= 0:
            period = self.timing.period
            number = upcoming_pulse(self._number, self._pulse_start, period, self._clock())
        self.pixels.prepare(predicted_parts(self.registers, self.timing.pulse(number)))

    def _write_outcome(self, address: int, data: bytes) -> WriteOutcome:
        return command_write(self.registers, self.timing, self._cycle_time(), address, data)

    def _cycle_time(self) -> float:
        """Now, as seconds since pulse 0 on the current period (what the cycle model takes)."""
        if self._number < 0:
            return 0.0  # before pulse 0: inside no command window
        return self._number * self.timing.period + max(0.0, self._clock() - self._pulse_start)
