"""State of the simulated DAQ6510: settings, buffers, the scan in progress (pure, no I/O).

Simulated time is ``now`` (seconds since power-on); the instrument's clock
reads ``epoch + now``. A scan's readings fall due at their own moments; as
time passes each is made from the thermal model *at that moment* and stored
in the scan's buffer, so a long scan sees the temperatures move under it and
a client polling the buffer sees it fill.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime

from controlroom.device.simkit.scpi import ScpiError, Status
from controlroom.devices.daq.sim.buffers import (
    STATUS_QUESTIONABLE,
    STATUS_START_GROUP,
    Buffers,
    Entry,
)
from controlroom.devices.daq.sim.config import DEFAULT_BUFFER, ChannelConfig, Setup, lab_setup
from controlroom.devices.daq.sim.events import (
    TRIGGER_MODEL_IDLE,
    TRIGGER_MODEL_RUNNING,
    EventLog,
    OperationRegister,
)
from controlroom.devices.daq.sim.scan import ScanRun
from controlroom.devices.daq.sim.sensing import sense
from controlroom.devices.daq.sim.thermal import ThermalNetwork

SWITCH_S = 0.004
"""Relay closing and settling before each channel's integration starts."""
CHANNELS_PER_PAIR = 10
"""On a 20-channel card, 4-wire channel n uses channel n + 10 for sensing."""


class DaqState:
    """Everything the command handlers read and change."""

    def __init__(
        self,
        lab: ThermalNetwork,
        identity: str,
        *,
        seed: int = 0,
        line_hz: float = 50.0,
        epoch: float = 0.0,
    ) -> None:
        self.lab = lab
        self.identity = identity
        self.seed = seed
        self.line_hz = line_hz
        self.epoch = epoch
        self.now = 0.0
        self.status = Status(EventLog(self.clock))
        self.operation = OperationRegister()
        self.setup = lab_setup()
        self.saved: dict[int, Setup] = {0: lab_setup()}
        self.buffers = Buffers()
        self.open_sensors: set[int] = set()
        self.run: ScanRun | None = None
        self.closed: int | None = None
        self.ascii_precision = 0
        self.wait: Callable[[float], None] = self.advance_to
        """Block until a simulated time; the simulator makes it take real time."""
        self._draws = 0

    def clock(self) -> datetime:
        """The instrument's date and time (UTC)."""
        return datetime.fromtimestamp(self.epoch + self.now, UTC)

    def advance_to(self, moment: float) -> None:
        """Bring the model to ``moment``, making every scan reading that falls due on the way."""
        run = self.run
        while run is not None and (due := run.next_due()) is not None and due <= moment:
            step = run.made % len(run.channels)
            self._advance_lab(due)
            self.now = max(self.now, due)
            self.store(run.buffer, run.channels[step], group_start=step == 0)
            run.made += 1
            if run.done:
                self.operation.raise_event(TRIGGER_MODEL_IDLE)
        self._advance_lab(moment)
        self.now = max(self.now, moment)

    def pause(self, seconds: float) -> None:
        """The instrument is busy for ``seconds`` of simulated time."""
        self.wait(self.now + seconds)

    @property
    def running(self) -> bool:
        return self.run is not None and not self.run.done

    def require_idle(self) -> None:
        if self.running:
            raise ScpiError(-221, "a scan is running")

    def config(self, channel: int) -> ChannelConfig:
        """The settings of a channel that measures temperature; -221 for any other."""
        found = self.setup.channels.get(channel)
        if found is None:
            raise ScpiError(-221, f"channel {channel} does not measure temperature")
        return found

    def channel_time(self, channel: int) -> float:
        """Simulated seconds one reading of ``channel`` takes: switching, then integration."""
        return SWITCH_S + self.config(channel).nplc / self.line_hz

    def start_scan(self) -> None:
        if self.running:
            raise ScpiError(-213, "a scan is running")
        setup = self.setup
        if not setup.scan_list:
            raise ScpiError(-221, "the scan list is empty")
        self.buffers.get(setup.scan_buffer)
        steps = [self.channel_time(channel) for channel in setup.scan_list]
        self.run = ScanRun(
            list(setup.scan_list),
            steps,
            self.now,
            setup.scan_count,
            setup.scan_interval,
            setup.scan_buffer,
        )
        self.operation.raise_event(TRIGGER_MODEL_RUNNING)

    def abort(self) -> None:
        if self.run is not None and self.running:
            self.run.aborted = True
            self.operation.raise_event(TRIGGER_MODEL_IDLE)

    def wait_for_scan(self) -> None:
        """Keep the instrument busy until a running scan ends.

        A scan that runs until aborted is not waited for: the instrument would
        wait for ever, and so would its client.
        """
        end = self.run.end if self.run is not None and self.running else None
        if end is not None:
            self.wait(end)

    def measure(self, channel: int, buffer: str = DEFAULT_BUFFER) -> Entry:
        """Close ``channel``, integrate, store the reading in ``buffer``."""
        self.buffers.get(buffer)
        self.pause(self.channel_time(channel))
        self.closed = channel
        return self.store(buffer, channel, group_start=True)

    def store(self, buffer: str, channel: int, *, group_start: bool) -> Entry:
        config = self.config(channel)
        self._draws += 1
        sample = sense(
            self.lab,
            channel,
            config,
            is_open=channel in self.open_sensors,
            seed=self.seed,
            count=self._draws,
        )
        status = (STATUS_QUESTIONABLE if sample.overflow else 0) | (
            STATUS_START_GROUP if group_start else 0
        )
        entry = Entry(sample.value, channel, config.unit, self.now, status)
        self.buffers.get(buffer).add(entry)
        return entry

    def reset(self) -> None:
        """``*RST``: factory settings; no channel measures temperature; buffers emptied."""
        self.abort()
        self.setup = Setup()
        self.run = None
        self.closed = None
        self.buffers.reset()
        self.ascii_precision = 0

    def recall(self, slot: int) -> None:
        self.require_idle()
        if slot not in self.saved:
            raise ScpiError(-221, f"no setup saved in slot {slot}")
        self.setup = copy.deepcopy(self.saved[slot])

    def save(self, slot: int) -> None:
        self.saved[slot] = copy.deepcopy(self.setup)

    def _advance_lab(self, moment: float) -> None:
        self.lab.advance(max(moment - self.lab.elapsed, 0.0))
