"""The DPU controller: the camera's commands, served by a control server like any device.

The FEE is not talked to here: the DPU processor process does that (it reads
every sync period, stores the frames, sends commands in the command window).
This controller starts it and keeps it running (:mod:`.processor`), and turns
each command into a request to it (:class:`~..dpu.client.ProcessorClient`):

* reads are answered by the processor from its mirror of the FEE (the
  priority queue) or its status, within milliseconds;
* FEE commands are queued for the next command window: the command returns
  the processor's future at once and the control server replies to that
  caller when its own write ran (deferred replies), serving everyone else
  meanwhile, so ten callers' writes go out in one window;
* priority settings (``num_cycles``, ``obsid``) change the processor itself.

While the processor restarts, commands are refused with
:class:`~.errors.ProcessorDown`; commands that were waiting in the old one
fail with its ``ProcessorRestarted``. The obsid, and a cycle count still
running, are given to the new processor.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Annotated, Any, ClassVar

from controlroom.device import Interface, choices, command, in_range, one_of
from controlroom.device.validators import Check
from controlroom.devices.camera.control.errors import NotHeardYet
from controlroom.devices.camera.control.fee import (
    ANY_REGISTER,
    CONFIG_REGISTERS,
    MODES,
    Geometry,
    check_value,
    optional_obsid,
)
from controlroom.devices.camera.control.images import MAX_SIZE, MIN_SIZE, latest_image
from controlroom.devices.camera.control.options import DpuOptions
from controlroom.devices.camera.control.processor import ProcessorLink
from controlroom.devices.camera.control.readings import (
    dpu_housekeeping,
    dpu_status,
    error_flag_names,
)
from controlroom.devices.camera.control.replies import Record, checked_write, checked_writes
from controlroom.devices.camera.dpu.commands import SetRegister
from controlroom.devices.camera.dpu.parameters import MAX_NUM_CYCLES
from controlroom.devices.camera.geometry import IMAGE_COLUMNS, ROWS
from controlroom.devices.camera.modes import FeeMode

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 30.0  # a write waits up to one sync period (6.25 s) plus a queue ahead of it

Row = Annotated[int, in_range(0, ROWS - 1)]
Column = Annotated[int, in_range(0, IMAGE_COLUMNS - 1)]


class DpuController(Interface):
    """The camera's DPU: FEE modes and registers, cycle counts, stored images."""

    takes_url: ClassVar[bool] = True  # the factory gives it the FEE's link URL, not a transport
    hk_min_period_s = 0.05
    status_min_period_s = 0.05

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.options = DpuOptions.checked(**options)
        self._link = ProcessorLink(url, self.options)

    def connect(self) -> None:
        """Start the DPU processor on the FEE's link and watch it."""
        run = self._link.open()
        log.info("DPU processor pid %d reads the FEE on %s", run.pid, self.url)

    def disconnect(self) -> None:
        """Stop the processor (it drains its writer and closes its file)."""
        self._link.close()

    def status(self) -> dict[str, Any]:
        return dpu_status(self._link.status(), self._link.supervision())

    def housekeeping(self) -> dict[str, Any]:
        return dict(dpu_housekeeping(self._link.status(), self._link.supervision()))

    def _query(self, name: str) -> Any:
        return self._link.client().query(name)

    def _known(self, name: str) -> Any:
        value = self._query(name)
        if value is None:
            raise NotHeardYet(f"no housekeeping from the FEE yet: its {name} is not known")
        return value

    def _write(self, name: str, value: int) -> Future[Record]:
        return self._link.client().submit(SetRegister(name, value))

    # -- reads ------------------------------------------------------------------

    @command(access="read")
    def get_mode(self) -> str:
        """The FEE's operating mode (ON, STANDBY, FULL_IMAGE, ..., DUMP), as last reported."""
        return str(self._known("mode"))

    @command(access="read")
    def get_frame_counter(self) -> int:
        """The frame counter of the FEE's last housekeeping packet (sync pulses since power-on)."""
        return int(self._known("frame_counter"))

    @command(access="read")
    def get_num_cycles(self) -> int:
        """Image cycles still to go before DUMP (0 or less: no count running)."""
        return int(self._query("num_cycles"))

    @command(access="read")
    def get_register(self, name: Annotated[str, one_of(ANY_REGISTER)]) -> int:
        """A register field of the FEE as mirrored by the DPU (what the FEE runs with now)."""
        return int(self._query(name))

    @command(access="read")
    def get_error_flags(self) -> dict[str, Any]:
        """The FEE's error flags: ``value`` (the 16-bit word) and ``names`` of those set."""
        value = int(self._query("error_flags"))
        return {"value": value, "names": error_flag_names(value)}

    @command(access="read")
    def latest_image(
        self,
        ccd: Annotated[int, in_range(1, 4)],
        side: Annotated[str, choices("E", "F")],
        max_size: Annotated[int, in_range(MIN_SIZE, MAX_SIZE)] = 512,
    ) -> dict[str, Any]:
        """The latest stored image of one CCD side, block-averaged to at most max_size pixels a
        side: frame_counter, shape, binning, min, max and pixels (uint16 little-endian bytes)."""
        status = self._link.status() or {}
        current = str(status.get("file") or "")
        return latest_image(self.options.root, current, ccd, side, max_size)

    # -- FEE commands, sent in the next command window ---------------------------

    @command(access="command", timeout=COMMAND_TIMEOUT_S)
    def set_register(
        self,
        name: Annotated[str, one_of(CONFIG_REGISTERS)],
        value: Annotated[int, in_range(0, 0xFFFF)],
    ) -> Future[Record]:
        """Write one configuration register field in the next command window (loaded by the FEE
        on the next long pulse); the reply record once it was sent: status 0 when taken."""
        return checked_write(self._write(name, check_value(name, value)))

    @command(access="command", timeout=COMMAND_TIMEOUT_S)
    def set_mode(self, mode: Annotated[str, one_of(MODES)]) -> Future[Record]:
        """Put the FEE in ``mode`` (loaded on the next long pulse); the reply record."""
        return checked_write(self._write("ccd_mode_config", int(FeeMode[mode])))

    @command(access="command", timeout=COMMAND_TIMEOUT_S)
    def clear_error_flags(self) -> Future[Record]:
        """Clear the FEE's error flags (on the next sync pulse); the reply record."""
        return checked_write(self._write("clear_error_flag", 1))

    @command(access="command", timeout=COMMAND_TIMEOUT_S)
    def full_image(
        self,
        num_cycles: Annotated[int, in_range(0, MAX_NUM_CYCLES)] = 0,
        *,
        v_start: Row = 0,
        v_end: Row = ROWS - 1,
        h_end: Column = IMAGE_COLUMNS - 1,
        sensor_sel: Annotated[int, in_range(1, 3)] = 3,
        pattern: bool = False,
    ) -> Future[list[Record]]:
        """Take images: the readout rows v_start..v_end, columns 0..h_end, the sides (sensor_sel
        1: E, 2: F, 3: both), then FULL_IMAGE (or its test pattern), all in one command window.
        num_cycles N > 0: N cycles of images (4 frames each), then DUMP; 0: until told otherwise.
        The reply: the records of all its writes."""
        writes = Geometry(v_start, v_end, h_end, sensor_sel).writes()
        mode = FeeMode.FULL_IMAGE_PATTERN if pattern else FeeMode.FULL_IMAGE
        client = self._link.client()
        client.assign("num_cycles", num_cycles)  # first: it counts from the long pulse loading it
        self._link.num_cycles = num_cycles
        futures = [client.submit(SetRegister(name, value)) for name, value in writes]
        futures.append(client.submit(SetRegister("ccd_mode_config", int(mode))))
        return checked_writes(futures)

    # -- the processor's own settings ---------------------------------------------

    @command(access="command")
    def set_num_cycles(self, n: Annotated[int, in_range(0, MAX_NUM_CYCLES)]) -> None:
        """Take n more image cycles, then DUMP (0: stop counting); use it with an image mode."""
        self._link.client().assign("num_cycles", n)
        self._link.num_cycles = n

    @command(access="command", validators={"obsid": Check(optional_obsid)})
    def set_obsid(self, obsid: str | None) -> None:
        """Store the frames that follow under observation ``obsid`` (None: outside one)."""
        self._link.client().assign("obsid", obsid)
        self._link.obsid = obsid

    @command(access="admin")
    def restart_processor(self) -> dict[str, Any]:
        """Stop the DPU processor and start a new one (also after it was given up on)."""
        return self._link.restart()
