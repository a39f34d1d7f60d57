"""The DAQ simulator's command set: one handler per SCPI header (pure, no I/O).

Commands that wait (``*OPC?``, ``FETC?``, ``READ?``, ``MEAS:TEMP?``) block the
instrument through :meth:`DaqState.wait`, as the real one is busy while it scans.

Channel configuration commands take a value and a channel list,
``SENS:TEMP:NPLC 10,(@101:110)``, and change every listed channel or none; their
queries take a channel list and answer one value per channel, comma-separated.
Only a channel that measures temperature (``SENS:FUNC "TEMP"``) has settings:
any other gives error -221.
"""

from __future__ import annotations

from collections.abc import Callable

from controlroom.device.simkit.common import (
    clear_status,
    constant,
    error_count,
    identify,
    next_error,
)
from controlroom.device.simkit.params import expect, keyword, to_real
from controlroom.device.simkit.scpi import Command, CommandTable, Handler, ScpiError
from controlroom.devices.daq.channels import (
    ChannelListError,
    parse_channels,
    parse_scan_reply,
    scpi_list,
)
from controlroom.devices.daq.sim.state import ChannelConfig, DaqState

CONFIG_PER_CHANNEL_S = 0.0005
NPLC_STEPS = (0.02, 0.2, 1.0, 2.0, 10.0, 20.0, 100.0, 200.0)
TRANSDUCERS = {"TC": "TC", "TCOUPLE": "TC", "THERMOCOUPLE": "TC", "RTD": "RTD", "FRTD": "FRTD"}
TC_TYPES = {name: name for name in "JKTENRSB"}
UNITS = {"K": "K", "KELV": "K", "KELVIN": "K", "C": "C", "CEL": "C", "F": "F", "FAR": "F"}
FUNCTIONS = {"TEMP": "TEMP", "TEMPERATURE": "TEMP", "NONE": "NONE"}
_DEFAULT_NPLC = 1.0


def channels_of(text: str) -> list[int]:
    try:
        return parse_channels(text)
    except ChannelListError as exc:
        raise ScpiError(-224, str(exc)) from None


def set_function(state: DaqState, args: list[str]) -> None:
    function, where = expect(args, 2)
    state.require_idle()
    channels = channels_of(where)
    if keyword(function, FUNCTIONS) == "NONE":
        in_scan = [c for c in channels if c in state.setup.scan_list]
        if in_scan:
            raise ScpiError(-221, f"channel {in_scan[0]} is in the scan list")
        for channel in channels:
            state.setup.channels.pop(channel, None)
    else:
        for channel in channels:
            state.setup.channels.setdefault(channel, ChannelConfig())
    state.pause(CONFIG_PER_CHANNEL_S * len(channels))


def show_function(state: DaqState, args: list[str]) -> str:
    channels = channels_of(expect(args, 1)[0])
    return ",".join('"TEMP"' if c in state.setup.channels else '"NONE"' for c in channels)


def setting(field: str, convert: Callable[[str], object]) -> Handler[DaqState]:
    """``<header> <value>,(@list)``: set one field of every listed (temperature) channel."""

    def handler(state: DaqState, args: list[str]) -> None:
        value, where = expect(args, 2)
        state.require_idle()
        channels = channels_of(where)
        configs = [state.config(channel) for channel in channels]  # all or none change
        converted = convert(value)
        for config in configs:
            setattr(config, field, converted)
        state.pause(CONFIG_PER_CHANNEL_S * len(channels))

    return handler


def show_setting(field: str, show: Callable[[object], str] = str) -> Handler[DaqState]:
    def handler(state: DaqState, args: list[str]) -> str:
        channels = channels_of(expect(args, 1)[0])
        return ",".join(show(getattr(state.config(channel), field)) for channel in channels)

    return handler


def nplc_step(text: str) -> float:
    """Round an integration time up to the next step the DAQ has, as the 34970A does."""
    named = {"MIN": NPLC_STEPS[0], "MAX": NPLC_STEPS[-1], "DEF": _DEFAULT_NPLC}
    value = named.get(text.strip().upper()[:3]) or to_real(text, refusal=-224)
    if not NPLC_STEPS[0] <= value <= NPLC_STEPS[-1]:
        raise ScpiError(-222, f"NPLC {value:g} is outside {NPLC_STEPS[0]}-{NPLC_STEPS[-1]}")
    return next(step for step in NPLC_STEPS if step >= value - 1e-9)


CONFIG_COMMANDS: list[Command[DaqState]] = [
    Command("[SENSe]:FUNCtion", set_function),
    Command("[SENSe]:FUNCtion?", show_function),
    Command(
        "[SENSe]:TEMPerature:TRANsducer", setting("transducer", lambda v: keyword(v, TRANSDUCERS))
    ),
    Command("[SENSe]:TEMPerature:TRANsducer?", show_setting("transducer")),
    Command("[SENSe]:TEMPerature:TCouple:TYPE", setting("tc_type", lambda v: keyword(v, TC_TYPES))),
    Command("[SENSe]:TEMPerature:TCouple:TYPE?", show_setting("tc_type")),
    Command("[SENSe]:TEMPerature:NPLC", setting("nplc", nplc_step)),
    Command("[SENSe]:TEMPerature:NPLC?", show_setting("nplc", lambda v: f"{v:+.6E}")),
    Command("UNIT:TEMPerature", setting("unit", lambda v: keyword(v, UNITS))),
    Command("UNIT:TEMPerature?", show_setting("unit")),
]


RESET_S = 0.1
RECALL_S = 0.05
SAVE_SLOTS = range(5)
MEASURING = 16


def format_reading(value: float) -> str:
    return f"{value:+.8E}"


def _reset(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    state.reset()
    state.pause(RESET_S)


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
    value = to_real(text, refusal=-224)
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
    value = to_real(expect(args, 1)[0], refusal=-224)
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


def _line_frequency(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return f"{state.line_hz:g}"


COMMANDS: CommandTable[DaqState] = CommandTable(
    [
        Command("*IDN?", identify),
        Command("*RST", _reset),
        Command("*CLS", clear_status),
        Command("*OPC?", _operation_complete),
        Command("*WAI", _wait),
        Command("*SAV", _save),
        Command("*RCL", _recall),
        Command("*TST?", constant("0")),
        Command("SYSTem:ERRor:[NEXT]?", next_error),
        Command("SYSTem:ERRor:COUNt?", error_count),
        Command("SYSTem:LFRequency?", _line_frequency),
        *CONFIG_COMMANDS,
        Command("ROUTe:SCAN", _set_scan),
        Command("ROUTe:SCAN?", _scan),
        Command("ROUTe:SCAN:SIZE?", _scan_size),
        Command("TRIGger:COUNt", _set_count),
        Command("TRIGger:COUNt?", _count),
        Command("INITiate:[IMMediate]", _initiate),
        Command("ABORt", _abort),
        Command("STATus:OPERation:CONDition?", _condition),
        Command("FETCh?", _fetch),
        Command("READ?", _read),
        Command("MEASure:TEMPerature?", _measure),
    ]
)
"""Every command the simulator understands; any other header is error -113."""
