"""Driver for a scanning DAQ with thermocouple/RTD multiplexer cards (SCPI, raw socket 5025).

Modelled on a Keithley DAQ6510 with two 20-channel cards (101-120, 201-220),
with the channel-list SCPI it shares with a Keysight 34970A. Every setting and
every query that can be refused is one line ``*CLS;:<command>;:SYST:ERR?``, so
the error read back is that command's own, raised as
:class:`~controlroom.device.replies.CommandRefused` in the same exchange; a
refused query gives only the error entry, never a hang.

A scan of tens of channels at a long integration time takes seconds to tens
of seconds, longer than any sensible read timeout, so :meth:`DaqController.scan`
starts it with ``INIT``, polls the operation condition register (which answers
at once) until the scan has ended, then fetches the readings.
"""

from __future__ import annotations

import enum
import time
from typing import Annotated, Any

from controlroom.device import Controller, choices, command, in_range
from controlroom.device.replies import (
    check_error,
    parse_error,
    parse_float,
    parse_int,
    split_checked,
)
from controlroom.device.transports.base import Transport
from controlroom.devices.daq.channels import ALL_CHANNELS, channel_list, parse_scan_reply
from controlroom.devices.daq.replies import (
    ScanTimeout,
    average_by_channel,
    parse_reading,
    parse_readings,
)

Channels = Annotated[str, channel_list()]
Channel = Annotated[int, choices(*ALL_CHANNELS)]
NPLC_CHOICES = (0.02, 0.2, 1.0, 2.0, 10.0, 20.0, 100.0, 200.0)
Nplc = Annotated[float, choices(*NPLC_CHOICES)]
ScanCount = Annotated[int, in_range(1, 1000)]
MEASURING_BIT = 16
"""Bit 4 of the standard operation condition register: a scan is running."""


class Transducer(enum.Enum):
    TC = "TC"  # thermocouple
    RTD = "RTD"  # 2/3-wire platinum resistor
    FRTD = "FRTD"  # 4-wire platinum resistor


class TcType(enum.Enum):
    J = "J"
    K = "K"
    T = "T"
    E = "E"
    N = "N"
    R = "R"
    S = "S"
    B = "B"


class TempUnit(enum.Enum):
    K = "K"
    C = "C"
    F = "F"


def _setting(template: str) -> dict[str, Any]:
    return {"kind": "transaction", "cmd": f"*CLS;:{template};:SYST:ERR?", "check": check_error}


def _checked_query(template: str, parse: Any) -> dict[str, Any]:
    return {
        "kind": "query",
        "cmd": f"*CLS;:{template};:SYST:ERR?",
        "parse": lambda reply: parse(split_checked(reply)),
    }


def _unquote(reply: str) -> str:
    return reply.strip().strip('"')


class DaqController(Controller):
    """Scanning DAQ: temperature channels 101-120 and 201-220, a scan list and an NPLC each."""

    transport_defaults = {"read_terminator": "\n", "write_terminator": "\n", "timeout": 10.0}
    hk_min_period_s = 1.0  # a scan of the whole list takes about a second at 1 NPLC
    status_min_period_s = 0.2

    def __init__(
        self, transport: Transport, *, poll_s: float = 0.02, scan_timeout_s: float = 120.0
    ) -> None:
        super().__init__(transport)
        self.poll_s = poll_s
        self.scan_timeout_s = scan_timeout_s
        self._last_scan: dict[str, float | None] = {}

    @command("query", "*IDN?")
    def identify(self) -> str:
        """Manufacturer, model, serial number and firmware version."""

    @command("transaction", "*CLS;*RST;:SYST:ERR?", check=check_error)
    def reset(self) -> None:
        """Factory settings: no channel measures temperature, the scan list is empty."""

    @command("query", "SYST:ERR?", parse=parse_error)
    def next_error(self) -> tuple[int, str]:
        """The oldest entry of the error queue as (code, message); (0, "No error") if empty."""

    @command("query", "*OPC?", parse=lambda reply: reply.strip() == "1")
    def operation_complete(self) -> bool:
        """Wait until a running scan has ended (blocks: use only for short scans)."""

    @command("query", "SYST:LFR?", parse=parse_float)
    def line_frequency(self) -> float:
        """Power-line frequency in Hz, which sets how long one NPLC lasts."""

    @command(**_setting('SENS:FUNC "TEMP",(@${channels})'))
    def set_function_temperature(self, channels: Channels) -> None:
        """Make channels measure temperature (e.g. "101:120,201")."""

    @command(**_checked_query("SENS:FUNC? (@${channel})", _unquote))
    def function(self, channel: Channel) -> str:
        """What a channel measures ("TEMP", or "NONE" when it is not configured)."""

    @command(**_setting("SENS:TEMP:TRAN ${transducer},(@${channels})"))
    def set_transducer(self, channels: Channels, transducer: Transducer) -> None:
        """Sensor kind of channels: TC, RTD (2/3-wire) or FRTD (4-wire Pt100)."""

    @command(**_checked_query("SENS:TEMP:TRAN? (@${channel})", Transducer))
    def transducer(self, channel: Channel) -> Transducer:
        """Sensor kind of a temperature channel."""

    @command(**_setting("SENS:TEMP:TC:TYPE ${tc_type},(@${channels})"))
    def set_tc_type(self, channels: Channels, tc_type: TcType) -> None:
        """Thermocouple type (J, K, T, E, N, R, S, B) of channels."""

    @command(**_checked_query("SENS:TEMP:TC:TYPE? (@${channel})", TcType))
    def tc_type(self, channel: Channel) -> TcType:
        """Thermocouple type of a channel."""

    @command(**_setting("UNIT:TEMP ${unit},(@${channels})"))
    def set_unit(self, channels: Channels, unit: TempUnit) -> None:
        """Unit of the readings of channels: K, C or F."""

    @command(**_checked_query("UNIT:TEMP? (@${channel})", TempUnit))
    def unit(self, channel: Channel) -> TempUnit:
        """Unit of the readings of a channel."""

    @command(**_setting("SENS:TEMP:NPLC ${nplc},(@${channels})"))
    def set_nplc(self, channels: Channels, nplc: Nplc) -> None:
        """Integration time of channels in power-line cycles (longer: slower, less noise)."""

    @command(**_checked_query("SENS:TEMP:NPLC? (@${channel})", parse_float))
    def nplc(self, channel: Channel) -> float:
        """Integration time of a channel in power-line cycles."""

    @command(**_setting("ROUT:SCAN (@${channels})"))
    def set_scan_list(self, channels: Channels) -> None:
        """Channels to scan, in order; each must be configured for temperature."""

    @command(**_checked_query("ROUT:SCAN?", parse_scan_reply))
    def scan_list(self) -> list[int]:
        """The channels of the scan list, in scan order."""

    @command(**_setting("TRIG:COUN ${count}"))
    def set_scan_count(self, count: ScanCount) -> None:
        """How many times one INIT sweeps the scan list (scan() averages the sweeps)."""

    @command(**_checked_query("TRIG:COUN?", parse_int))
    def scan_count(self) -> int:
        """How many sweeps of the scan list one INIT makes."""

    @command(**_setting("INIT"))
    def initiate(self) -> None:
        """Start a scan; the readings replace the previous ones."""

    @command(**_setting("ABOR"))
    def abort(self) -> None:
        """Stop a running scan; the readings made so far are kept."""

    @command("query", "STAT:OPER:COND?", parse=lambda r: bool(parse_int(r) & MEASURING_BIT))
    def measuring(self) -> bool:
        """True while a scan runs (answers at once, unlike *OPC?)."""

    @command(**_checked_query("FETC?", parse_readings))
    def fetch(self) -> list[float | None]:
        """Readings of the last scan, sweep after sweep in scan order (None: open sensor)."""

    @command(**_checked_query("READ?", parse_readings), access="command")
    def read(self) -> list[float | None]:
        """Start a scan, wait for it and return its readings (blocks: short scans only)."""

    @command(**_checked_query("MEAS:TEMP? (@${channel})", parse_reading))
    def measure(self, channel: Channel) -> float | None:
        """Measure one configured channel now, outside the scan (None: open sensor)."""

    @command()
    def configure(
        self,
        channels: Channels,
        transducer: Transducer = Transducer.TC,
        tc_type: TcType = TcType.K,
        unit: TempUnit = TempUnit.K,
        nplc: Nplc = 1.0,
    ) -> None:
        """Configure channels for temperature in one exchange (tc_type applies to TC only)."""
        where = f"(@{channels})"
        parts = [f'SENS:FUNC "TEMP",{where}', f"SENS:TEMP:TRAN {transducer.value},{where}"]
        if transducer is Transducer.TC:
            parts.append(f"SENS:TEMP:TC:TYPE {tc_type.value},{where}")
        parts += [f"UNIT:TEMP {unit.value},{where}", f"SENS:TEMP:NPLC {nplc},{where}"]
        check_error(self.transport.query("*CLS;:" + ";:".join(parts) + ";:SYST:ERR?"))

    @command()
    def scan(self) -> dict[str, float | None]:
        """Run the scan list once (times the scan count) and return {channel: mean reading}."""
        channels, sweeps = self._scan_setup()
        if not channels:
            self._last_scan = {}
            return {}
        self.initiate()
        deadline = time.monotonic() + self.scan_timeout_s
        while self.measuring():
            if time.monotonic() > deadline:
                self.abort()
                raise ScanTimeout(f"the scan did not end within {self.scan_timeout_s} s")
            time.sleep(self.poll_s)  # the DAQ is busy for seconds: poll, do not hog the link
        readings = average_by_channel(channels, self.fetch(), sweeps)
        self._last_scan = {str(channel): value for channel, value in readings.items()}
        return dict(self._last_scan)

    def _scan_setup(self) -> tuple[list[int], int]:
        reply = split_checked(self.transport.query("*CLS;:ROUT:SCAN?;:TRIG:COUN?;:SYST:ERR?"))
        scan_text, _, count = reply.rpartition(";")
        return parse_scan_reply(scan_text), parse_int(count)

    def housekeeping(self) -> dict[str, Any]:
        """Every channel of the scan list as ``temp_<channel>`` (None: open sensor)."""
        return {f"temp_{channel}": value for channel, value in self.scan().items()}

    def status(self) -> dict[str, Any]:
        """Whether a scan runs, and the readings of the last scan (no new scan)."""
        return {"measuring": self.measuring()} | {
            f"temp_{channel}": value for channel, value in self._last_scan.items()
        }
