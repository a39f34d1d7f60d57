"""Channel configuration commands of the DAQ simulator (pure, no I/O).

They take a value and a channel list, ``SENS:TEMP:NPLC 10,(@101:110)``, and
change every listed channel or none; their queries take a channel list and
answer one value per channel, comma-separated. Only a channel that measures
temperature (``SENS:FUNC "TEMP"``) has settings: any other gives error -221.
"""

from __future__ import annotations

from collections.abc import Callable

from controlroom.devices.daq.channels import ChannelListError, parse_channels
from controlroom.devices.daq.scpi import Handler, ScpiError, expect, keyword, number
from controlroom.devices.daq.sim_state import ChannelConfig, DaqState

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
    value = named.get(text.strip().upper()[:3]) or number(text)
    if not NPLC_STEPS[0] <= value <= NPLC_STEPS[-1]:
        raise ScpiError(-222, f"NPLC {value:g} is outside {NPLC_STEPS[0]}-{NPLC_STEPS[-1]}")
    return next(step for step in NPLC_STEPS if step >= value - 1e-9)


CONFIG_COMMANDS: list[tuple[str, Handler[DaqState]]] = [
    ("[SENSe]:FUNCtion", set_function),
    ("[SENSe]:FUNCtion?", show_function),
    ("[SENSe]:TEMPerature:TRANsducer", setting("transducer", lambda v: keyword(v, TRANSDUCERS))),
    ("[SENSe]:TEMPerature:TRANsducer?", show_setting("transducer")),
    ("[SENSe]:TEMPerature:TCouple:TYPE", setting("tc_type", lambda v: keyword(v, TC_TYPES))),
    ("[SENSe]:TEMPerature:TCouple:TYPE?", show_setting("tc_type")),
    ("[SENSe]:TEMPerature:NPLC", setting("nplc", nplc_step)),
    ("[SENSe]:TEMPerature:NPLC?", show_setting("nplc", lambda v: f"{v:+.6E}")),
    ("UNIT:TEMPerature", setting("unit", lambda v: keyword(v, UNITS))),
    ("UNIT:TEMPerature?", show_setting("unit")),
]
