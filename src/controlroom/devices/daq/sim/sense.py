"""``SENSe`` commands of the simulated DAQ6510: what each channel measures, and how.

Every setting takes a value and a channel list, ``SENS:TEMP:NPLC 10, (@101:110)``,
and changes every listed channel or none; its query takes a channel list and
answers one value per channel, comma-separated. Only a channel set to measure
temperature (``SENS:FUNC "TEMP"``) has temperature settings: any other gives
-221. The front and rear terminals are not simulated, so the channel list is
never optional.
"""

from __future__ import annotations

from collections.abc import Callable

from controlroom.device.simkit.params import expect
from controlroom.device.simkit.scpi import Command, Handler, ScpiError
from controlroom.devices.daq.sim.config import DEFAULT_NPLC, MAX_NPLC, MIN_NPLC, ChannelConfig
from controlroom.devices.daq.sim.params import (
    boolean,
    channels_of,
    mnemonic,
    number,
    show_bool,
    show_number,
)
from controlroom.devices.daq.sim.state import CHANNELS_PER_PAIR, DaqState

CONFIG_PER_CHANNEL_S = 0.0005
FUNCTIONS = {"TEMPerature": "TEMP", "NONE": "NONE"}
TRANSDUCERS = {"TCouple": "TC", "RTD": "RTD", "TRTD": "TRTD", "FRTD": "FRTD", "THERmistor": "THER"}
TC_TYPES = {name: name for name in "BEJKNRST"}
UNITS = {"CELSius": "CELS", "FAHRenheit": "FAHR", "KELVin": "KELV"}
REFERENCES = {"INTernal": "INT", "SIMulated": "SIM", "EXTernal": "EXT"}
RTD_TYPES = {name: name for name in ("PT100", "PT385", "PT3916", "D100", "F100", "USER")}
THERMISTORS = {name: name for name in ("2252", "5000", "10000")}
SIMULATED_REFERENCE_C = (0.0, 65.0)

Convert = Callable[[DaqState, str], object]


def set_function(state: DaqState, args: list[str]) -> None:
    function, where = expect(args, 2)
    state.require_idle()
    channels = channels_of(where)
    try:
        chosen = mnemonic(function, FUNCTIONS)
    except ScpiError:
        raise ScpiError(-224, f"{function}: the simulator measures temperature only") from None
    if chosen == "NONE":
        in_scan = [channel for channel in channels if channel in state.setup.scan_list]
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
    return ",".join("TEMP" if c in state.setup.channels else "NONE" for c in channels)


def setting(field: str, convert: Convert) -> Handler[DaqState]:
    """``<header> <value>, (@list)``: set one field of every listed (temperature) channel."""

    def handler(state: DaqState, args: list[str]) -> None:
        value, where = expect(args, 2)
        state.require_idle()
        channels = channels_of(where)
        configs = [state.config(channel) for channel in channels]  # all or none change
        converted = convert(state, value)
        if field == "transducer" and converted == "FRTD":
            paired = [c for c in channels if c % 100 > CHANNELS_PER_PAIR]
            if paired:
                raise ScpiError(-221, f"4-wire channel {paired[0]} is the sense pair of another")
        for config in configs:
            setattr(config, field, converted)
        state.pause(CONFIG_PER_CHANNEL_S * len(channels))

    return handler


def switch(name: str) -> Handler[DaqState]:
    """A setting kept and answered, without effect on the readings (auto zero, line sync)."""

    def handler(state: DaqState, args: list[str]) -> None:
        value, where = expect(args, 2)
        state.require_idle()
        configs = [state.config(channel) for channel in channels_of(where)]
        on = boolean(value)
        for config in configs:
            config.switches[name] = on

    return handler


def show(field: str, render: Callable[[object], str] = str) -> Handler[DaqState]:
    def handler(state: DaqState, args: list[str]) -> str:
        channels = channels_of(expect(args, 1)[0])
        return ",".join(render(getattr(state.config(channel), field)) for channel in channels)

    return handler


def show_switch(name: str, default: bool) -> Handler[DaqState]:
    def handler(state: DaqState, args: list[str]) -> str:
        channels = channels_of(expect(args, 1)[0])
        return ",".join(
            show_bool(state.config(channel).switches.get(name, default)) for channel in channels
        )

    return handler


def choice(choices: dict[str, str]) -> Convert:
    return lambda _state, text: mnemonic(text, choices)


def nplc(state: DaqState, text: str) -> float:
    return number(text, MIN_NPLC, MAX_NPLC[state.line_hz], DEFAULT_NPLC)


def reference_temperature(_state: DaqState, text: str) -> float:
    return number(text, *SIMULATED_REFERENCE_C, default=23.0)


def _numbers(value: object) -> str:
    assert isinstance(value, float)
    return show_number(value)


def _flag(value: object) -> str:
    return show_bool(bool(value))


_TEMPERATURE = "[SENSe]:TEMPerature"
_SETTINGS: list[tuple[str, str, Convert, Callable[[object], str]]] = [
    ("TRANsducer", "transducer", choice(TRANSDUCERS), str),
    ("TCouple:TYPE", "tc_type", choice(TC_TYPES), str),
    ("UNIT", "unit", choice(UNITS), str),
    ("NPLCycles", "nplc", nplc, _numbers),
    ("ODETector", "open_detector", lambda _state, text: boolean(text), _flag),
    ("TCouple:RJUNction:RSELect", "reference", choice(REFERENCES), str),
    ("TCouple:RJUNction:SIMulated", "simulated_reference", reference_temperature, _numbers),
    ("RTD:FOUR", "rtd_type", choice(RTD_TYPES), str),
    ("RTD:THRee", "rtd_type", choice(RTD_TYPES), str),
    ("RTD:TWO", "rtd_type", choice(RTD_TYPES), str),
    ("THERmistor", "thermistor", choice(THERMISTORS), str),
]
_SWITCHES = {"AZERo[:STATe]": True, "LINE:SYNC": False, "DELay:AUTO": True, "OCOMpensated": False}
"""Each with its factory value."""

SENSE_COMMANDS: list[Command[DaqState]] = [
    Command("[SENSe]:FUNCtion[:ON]", set_function),
    Command("[SENSe]:FUNCtion[:ON]?", show_function),
    *(
        command
        for header, field, convert, render in _SETTINGS
        for command in (
            Command(f"{_TEMPERATURE}:{header}", setting(field, convert)),
            Command(f"{_TEMPERATURE}:{header}?", show(field, render)),
        )
    ),
    *(
        command
        for header, default in _SWITCHES.items()
        for command in (
            Command(f"{_TEMPERATURE}:{header}", switch(header.split("[")[0])),
            Command(f"{_TEMPERATURE}:{header}?", show_switch(header.split("[")[0], default)),
        )
    ),
]
"""Every channel setting the simulator understands."""
