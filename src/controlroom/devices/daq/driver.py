"""Driver for a Keithley DAQ6510 with two 7700 multiplexer cards (SCPI, raw socket 5025).

Channels 101-120 and 201-220, in the manual's SCPI: ``SENS:FUNC "TEMP", (@101:110)``,
``SENS:TEMP:UNIT KELV, (@...)``, ``ROUT:SCAN:CRE``, readings from the reading
buffer with ``TRAC:DATA?``. Every setting and every query that can be refused
is one line ``*CLS;:<command>;:SYST:ERR?``, so the error read back is that
command's own, raised as :class:`~controlroom.device.replies.CommandRefused` in
the same exchange; a refused query gives only the error entry, never a hang.

A scan of tens of channels at a long integration time takes seconds to tens
of seconds, longer than any sensible read timeout, so :meth:`DaqController.scan`
starts it with ``INIT``, polls the trigger model's state (``TRIG:STAT?``,
which answers at once) until the scan has ended, then reads the buffer.
"""

from __future__ import annotations

import time
from typing import Any

from controlroom.device import Controller, command
from controlroom.device.replies import parse_float, parse_int
from controlroom.device.transports.base import Transport
from controlroom.devices.daq.arguments import (
    UNIT_WORDS,
    Channel,
    Channels,
    Nplc,
    ScanCount,
    TcType,
    TempUnit,
    Transducer,
    unit_of,
)
from controlroom.devices.daq.channels import parse_scan_reply
from controlroom.devices.daq.replies import (
    DaqError,
    ScanTimeout,
    answer_of,
    average_by_channel,
    check_event,
    parse_event,
    parse_reading,
    parse_readings,
    parse_running,
)

BUFFER = '"defbuffer1"'


def _setting(template: str) -> dict[str, Any]:
    return {"kind": "transaction", "cmd": f"*CLS;:{template};:SYST:ERR?", "check": check_event}


def _checked_query(template: str, parse: Any) -> dict[str, Any]:
    return {
        "kind": "query",
        "cmd": f"*CLS;:{template};:SYST:ERR?",
        "parse": lambda reply: parse(answer_of(reply)),
    }


def _unit_line(channels: str, unit: TempUnit) -> str:
    return f"*CLS;:SENS:TEMP:UNIT {UNIT_WORDS[unit]}, (@{channels});:SYST:ERR?"


class DaqController(Controller):
    """DAQ6510: temperature channels 101-120 and 201-220, a scan list and an NPLC each."""

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

    @command("transaction", "*CLS;*RST;:SYST:ERR?", check=check_event)
    def reset(self) -> None:
        """Factory settings: no channel measures temperature, the scan list is empty."""

    @command("query", "SYST:ERR?", parse=parse_event)
    def next_error(self) -> tuple[int, str]:
        """The oldest entry of the error queue as (code, message); (0, "No error") if empty."""

    @command("query", "*OPC?", parse=lambda reply: reply.strip() == "1")
    def operation_complete(self) -> bool:
        """Wait until a running scan has ended (blocks: use only for short scans)."""

    @command("query", "SYST:LFR?", parse=parse_float)
    def line_frequency(self) -> float:
        """Power-line frequency in Hz, which sets how long one NPLC lasts."""

    @command(**_setting('SENS:FUNC "TEMP", (@${channels})'))
    def set_function_temperature(self, channels: Channels) -> None:
        """Make channels measure temperature (e.g. "101:120,201")."""

    @command(**_checked_query("SENS:FUNC? (@${channel})", lambda r: r.strip().strip('"')))
    def function(self, channel: Channel) -> str:
        """What a channel measures ("TEMP", or "NONE" when it is not configured)."""

    @command(**_setting("SENS:TEMP:TRAN ${transducer}, (@${channels})"))
    def set_transducer(self, channels: Channels, transducer: Transducer) -> None:
        """Sensor kind of channels: TC, RTD (2-wire), TRTD (3-wire), FRTD (4-wire), THER."""

    @command(**_checked_query("SENS:TEMP:TRAN? (@${channel})", Transducer))
    def transducer(self, channel: Channel) -> Transducer:
        """Sensor kind of a temperature channel."""

    @command(**_setting("SENS:TEMP:TC:TYPE ${tc_type}, (@${channels})"))
    def set_tc_type(self, channels: Channels, tc_type: TcType) -> None:
        """Thermocouple type (J, K, T, E, N, R, S, B) of channels."""

    @command(**_checked_query("SENS:TEMP:TC:TYPE? (@${channel})", TcType))
    def tc_type(self, channel: Channel) -> TcType:
        """Thermocouple type of a channel."""

    @command("transaction", prepare=_unit_line, check=check_event)
    def set_unit(self, channels: Channels, unit: TempUnit) -> None:
        """Unit of the readings of channels: K, C or F."""

    @command(**_checked_query("SENS:TEMP:UNIT? (@${channel})", unit_of))
    def unit(self, channel: Channel) -> TempUnit:
        """Unit of the readings of a channel."""

    @command(**_setting("SENS:TEMP:NPLC ${nplc}, (@${channels})"))
    def set_nplc(self, channels: Channels, nplc: Nplc) -> None:
        """Integration time of channels in power-line cycles (longer: slower, less noise)."""

    @command(**_checked_query("SENS:TEMP:NPLC? (@${channel})", parse_float))
    def nplc(self, channel: Channel) -> float:
        """Integration time of a channel in power-line cycles."""

    @command(**_setting("ROUT:SCAN:CRE (@${channels})"))
    def set_scan_list(self, channels: Channels) -> None:
        """Channels to scan, in order; each must be configured for temperature."""

    @command(**_checked_query("ROUT:SCAN:CRE?", parse_scan_reply))
    def scan_list(self) -> list[int]:
        """The channels of the scan list, in scan order."""

    @command(**_setting("ROUT:SCAN:COUN:SCAN ${count}"))
    def set_scan_count(self, count: ScanCount) -> None:
        """How many times one INIT sweeps the scan list (scan() averages the sweeps)."""

    @command(**_checked_query("ROUT:SCAN:COUN:SCAN?", parse_int))
    def scan_count(self) -> int:
        """How many sweeps of the scan list one INIT makes."""

    @command(**_setting(f"ROUT:SCAN:BUFF {BUFFER};:TRAC:CLE {BUFFER};:INIT"))
    def initiate(self) -> None:
        """Start a scan into defbuffer1; its readings replace the previous ones."""

    @command(**_setting("ABOR"))
    def abort(self) -> None:
        """Stop a running scan; the readings made so far are kept."""

    @command("query", "TRIG:STAT?", parse=parse_running)
    def measuring(self) -> bool:
        """True while a scan runs (answers at once, unlike *OPC?)."""

    @command(access="read")
    def fetch(self) -> list[float | None]:
        """Readings in defbuffer1, sweep after sweep in scan order (None: open sensor)."""
        count = parse_int(answer_of(self.transport.query(f"*CLS;:TRAC:ACT? {BUFFER};:SYST:ERR?")))
        return self._buffer(count)

    @command(access="command")
    def read(self) -> list[float | None]:
        """Run the scan, wait for it and return its readings (blocks: short scans only)."""
        line = f"ROUT:SCAN:BUFF {BUFFER};:TRAC:CLE {BUFFER};:INIT;*WAI;:TRAC:ACT? {BUFFER}"
        count = parse_int(answer_of(self.transport.query(f"*CLS;:{line};:SYST:ERR?")))
        return self._buffer(count)

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
        """Configure channels for temperature in one exchange (tc_type applies to TC only).

        Thermocouples get open-lead detection, so a broken one reads as None.
        """
        where = f"(@{channels})"
        parts = [f'SENS:FUNC "TEMP", {where}', f"SENS:TEMP:TRAN {transducer.value}, {where}"]
        if transducer is Transducer.TC:
            parts += [f"SENS:TEMP:TC:TYPE {tc_type.value}, {where}", f"SENS:TEMP:ODET ON, {where}"]
        parts += [f"SENS:TEMP:UNIT {UNIT_WORDS[unit]}, {where}", f"SENS:TEMP:NPLC {nplc}, {where}"]
        check_event(self.transport.query("*CLS;:" + ";:".join(parts) + ";:SYST:ERR?"))

    @command()
    def scan(self) -> dict[str, float | None]:
        """Run the scan list once (times the scan count) and return {channel: mean reading}."""
        channels, sweeps = self._scan_setup()
        if not channels:
            self._last_scan = {}
            return {}
        if sweeps == 0:
            raise DaqError("the scan count is 0 (scan until aborted): set a scan count first")
        self.initiate()
        deadline = time.monotonic() + self.scan_timeout_s
        while self.measuring():
            if time.monotonic() > deadline:
                self.abort()
                raise ScanTimeout(f"the scan did not end within {self.scan_timeout_s} s")
            time.sleep(self.poll_s)  # the DAQ is busy for seconds: poll, do not hog the link
        readings = self._buffer(len(channels) * sweeps)
        result = average_by_channel(channels, readings, sweeps)
        self._last_scan = {str(channel): value for channel, value in result.items()}
        return dict(self._last_scan)

    def _scan_setup(self) -> tuple[list[int], int]:
        line = "*CLS;:ROUT:SCAN:CRE?;:ROUT:SCAN:COUN:SCAN?;:SYST:ERR?"
        scan_text, _, count = answer_of(self.transport.query(line)).rpartition(";")
        return parse_scan_reply(scan_text), parse_int(count)

    def _buffer(self, count: int) -> list[float | None]:
        """Readings 1 to ``count`` of defbuffer1."""
        if count == 0:
            return []
        line = f"*CLS;:TRAC:DATA? 1, {count}, {BUFFER}, READ;:SYST:ERR?"
        return parse_readings(answer_of(self.transport.query(line)))

    def housekeeping(self) -> dict[str, Any]:
        """Every channel of the scan list as ``temp_<channel>`` (None: open sensor)."""
        return {f"temp_{channel}": value for channel, value in self.scan().items()}

    def status(self) -> dict[str, Any]:
        """Whether a scan runs, and the readings of the last scan (no new scan)."""
        return {"measuring": self.measuring()} | {
            f"temp_{channel}": value for channel, value in self._last_scan.items()
        }
