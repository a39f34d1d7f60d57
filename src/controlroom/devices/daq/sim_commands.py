"""The DAQ simulator's command set: one handler per SCPI header (pure, no I/O).

Channel configuration is in :mod:`~controlroom.devices.daq.sim_config`.
Commands that wait (``*OPC?``, ``FETC?``, ``READ?``, ``MEAS:TEMP?``) block the
instrument through :meth:`DaqState.wait`, as the real one is busy while it scans.
"""

from __future__ import annotations

from controlroom.devices.daq.channels import ChannelListError, parse_scan_reply, scpi_list
from controlroom.devices.daq.scpi import CommandTable, ScpiError, expect, number
from controlroom.devices.daq.sim_config import CONFIG_COMMANDS, channels_of
from controlroom.devices.daq.sim_state import DaqState

RESET_S = 0.1
RECALL_S = 0.05
SAVE_SLOTS = range(5)
MEASURING = 16


def format_reading(value: float) -> str:
    return f"{value:+.8E}"


def _identify(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return state.identity


def _reset(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    state.reset()
    state.pause(RESET_S)


def _clear(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    state.errors.clear()


def _wait_for_scan(state: DaqState) -> None:
    if state.run is not None and state.running:
        state.wait(state.run.end)


def _operation_complete(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    _wait_for_scan(state)
    return "1"


def _wait(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    _wait_for_scan(state)


def _slot(text: str) -> int:
    value = number(text)
    if value not in SAVE_SLOTS:
        raise ScpiError(-222, f"setup slots are {SAVE_SLOTS[0]}-{SAVE_SLOTS[-1]}")
    return int(value)


def _save(state: DaqState, args: list[str]) -> None:
    state.save(_slot(expect(args, 1)[0]))


def _recall(state: DaqState, args: list[str]) -> None:
    state.recall(_slot(expect(args, 1)[0]))
    state.pause(RECALL_S)


def _set_scan(state: DaqState, args: list[str]) -> None:
    state.require_idle()
    try:
        channels = parse_scan_reply(expect(args, 1)[0])
    except ChannelListError as exc:
        raise ScpiError(-224, str(exc)) from None
    for channel in channels:
        state.config(channel)  # a channel that does not measure temperature cannot be scanned
    state.setup.scan_list = channels


def _scan(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return scpi_list(state.setup.scan_list) if state.setup.scan_list else "(@)"


def _scan_size(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return str(len(state.setup.scan_list))


def _set_count(state: DaqState, args: list[str]) -> None:
    value = number(expect(args, 1)[0])
    if not value.is_integer() or not 1 <= value <= 1000:
        raise ScpiError(-222, f"trigger count {value:g} is outside 1-1000")
    state.require_idle()
    state.setup.scan_count = int(value)


def _count(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return f"{state.setup.scan_count:+d}"


def _initiate(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    state.start_scan()


def _abort(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    if state.run is not None and state.running:
        state.run.aborted = True


def _condition(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return str(MEASURING if state.running else 0)


def _fetch(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    _wait_for_scan(state)
    if state.run is None or not state.run.readings:
        raise ScpiError(-230, "no readings: start a scan with INIT")
    return ",".join(format_reading(value) for value in state.run.readings)


def _read(state: DaqState, args: list[str]) -> str:
    _initiate(state, args)
    return _fetch(state, args)


def _measure(state: DaqState, args: list[str]) -> str:
    channels = channels_of(expect(args, 1)[0])
    state.require_idle()
    for channel in channels:
        state.config(channel)
    readings = []
    for channel in channels:
        state.pause(state.channel_time(channel))
        readings.append(format_reading(state.read(channel)))
    return ",".join(readings)


def _error(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return state.errors.pop()


def _error_count(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return str(len(state.errors))


def _line_frequency(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return f"{state.line_hz:g}"


def _self_test(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return "0"


COMMANDS: CommandTable[DaqState] = CommandTable(
    [
        ("*IDN?", _identify),
        ("*RST", _reset),
        ("*CLS", _clear),
        ("*OPC?", _operation_complete),
        ("*WAI", _wait),
        ("*SAV", _save),
        ("*RCL", _recall),
        ("*TST?", _self_test),
        ("SYSTem:ERRor:[NEXT]?", _error),
        ("SYSTem:ERRor:COUNt?", _error_count),
        ("SYSTem:LFRequency?", _line_frequency),
        *CONFIG_COMMANDS,
        ("ROUTe:SCAN", _set_scan),
        ("ROUTe:SCAN?", _scan),
        ("ROUTe:SCAN:SIZE?", _scan_size),
        ("TRIGger:COUNt", _set_count),
        ("TRIGger:COUNt?", _count),
        ("INITiate:[IMMediate]", _initiate),
        ("ABORt", _abort),
        ("STATus:OPERation:CONDition?", _condition),
        ("FETCh?", _fetch),
        ("READ?", _read),
        ("MEASure:TEMPerature?", _measure),
    ]
)
"""Every command the simulator understands; any other header is error -113."""
