"""``ROUTe``, ``INITiate``, ``ABORt`` and ``TRIGger`` of the simulated DAQ6510: the scan.

``ROUT:SCAN:CRE (@101:110,201)`` makes the scan list (each channel must
measure temperature), ``ROUT:SCAN:COUN:SCAN`` the number of sweeps (0: until
``ABORt``), ``ROUT:SCAN:INT`` the time between sweep starts, ``ROUT:SCAN:BUFF``
the buffer it fills; ``INIT`` starts it. ``TRIG:STAT?`` and ``ROUT:SCAN:STAT?``
answer at once while it runs. ``ROUT:CLOS`` connects one channel to the
meter, for ``READ?`` and ``MEAS:TEMP?`` without a channel list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controlroom.device.simkit.params import expect
from controlroom.device.simkit.scpi import Command, ScpiError, setting_and_query
from controlroom.devices.daq.channels import scpi_list
from controlroom.devices.daq.sim.params import (
    boolean,
    channels_of,
    mnemonic,
    number,
    show_bool,
    show_number,
    unquote,
    whole,
)
from controlroom.devices.daq.sim.sense import Convert
from controlroom.devices.daq.sim.state import DaqState

MAX_SCAN_COUNT = 1_000_000
MAX_INTERVAL_S = 100_000.0


def _scan_channels(state: DaqState, text: str) -> list[int]:
    state.require_idle()
    if text.replace(" ", "") == "(@)":
        return []
    channels = channels_of(text)
    for channel in channels:
        state.config(channel)  # a channel that does not measure temperature cannot be scanned
    return channels


def _create(state: DaqState, args: list[str]) -> None:
    state.setup.scan_list = _scan_channels(state, expect(args, 1)[0])


def _add(state: DaqState, args: list[str]) -> None:
    added = _scan_channels(state, expect(args, 1)[0])
    twice = [channel for channel in added if channel in state.setup.scan_list]
    if twice:
        raise ScpiError(-221, f"channel {twice[0]} is in the scan list")
    state.setup.scan_list += added


def _show(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return scpi_list(state.setup.scan_list) if state.setup.scan_list else "(@)"


def _scan_setting(
    header: str,
    field: str,
    convert: Convert,
    render: Callable[[Any], str] = str,
    *,
    while_scanning: bool = False,
) -> tuple[Command[DaqState], Command[DaqState]]:
    """``ROUT:SCAN:<header> <value>`` and its query: one field of the scan's setup, taken
    once the scan is over (unless ``while_scanning``)."""

    def change(state: DaqState, args: list[str]) -> None:
        value = convert(state, expect(args, 1)[0])
        if not while_scanning:
            state.require_idle()
        setattr(state.setup, field, value)

    def show(state: DaqState, args: list[str]) -> str:
        expect(args, 0)
        return render(getattr(state.setup, field))

    return setting_and_query(f"ROUTe:SCAN:{header}", change, show)


def _count(_state: DaqState, text: str) -> int:
    return whole(text, 0, MAX_SCAN_COUNT)


def _interval(_state: DaqState, text: str) -> float:
    return number(text, 0.0, MAX_INTERVAL_S, 0.0)


def _buffer(state: DaqState, text: str) -> str:
    name = unquote(text)
    state.buffers.get(name)  # it must exist
    return name


def _restart(_state: DaqState, text: str) -> bool:
    return boolean(text)


def _steps(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return str(len(state.setup.scan_list))


def _set_stimulus(_state: DaqState, args: list[str]) -> None:
    try:
        mnemonic(expect(args, 1)[0], {"NONE": "NONE"})
    except ScpiError:
        raise ScpiError(-224, "only NONE: the simulator has no trigger inputs") from None


def _stimulus(_state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return "NONE"


def _export(_state: DaqState, _args: list[str]) -> None:
    """Accepted: the simulator has no USB drive to write the scans to."""


def _scan_state(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    run = state.run
    if run is None:
        return "EMPTY;0;0" if not state.setup.scan_list else "IDLE;0;0"
    sweeps, steps = run.progress()
    return f"{_trigger_state(state)};{sweeps};{steps}"


def _trigger_state(state: DaqState) -> str:
    if state.running:
        return "RUNNING"
    if state.run is not None and state.run.aborted:
        return "ABORTED"
    return "IDLE" if state.run is not None or state.setup.scan_list else "EMPTY"


def _trigger(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    status = _trigger_state(state)
    return f"{status};{status};0"


def _close(state: DaqState, args: list[str]) -> None:
    channels = channels_of(expect(args, 1)[0])
    if len(channels) != 1:
        raise ScpiError(-221, "one channel at a time connects to the meter")
    state.require_idle()
    state.closed = channels[0]


def _closed(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return scpi_list([state.closed]) if state.closed is not None else "(@)"


def _open(state: DaqState, args: list[str]) -> None:
    channels = channels_of(expect(args, 1)[0])
    state.require_idle()
    if state.closed in channels:
        state.closed = None


def _open_all(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    state.require_idle()
    state.closed = None


def _channel_state(state: DaqState, args: list[str]) -> str:
    channels = channels_of(expect(args, 1)[0])
    return ",".join(show_bool(channel == state.closed) for channel in channels)


def _initiate(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    state.start_scan()


def _abort(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    state.abort()


ROUTE_COMMANDS: list[Command[DaqState]] = [
    Command("ROUTe:SCAN[:CREate]", _create),
    Command("ROUTe:SCAN[:CREate]?", _show),
    Command("ROUTe:SCAN:ADD", _add),
    Command("ROUTe:SCAN:ADD:SINGle", _add),
    *_scan_setting("COUNt:SCAN", "scan_count", _count),
    Command("ROUTe:SCAN:COUNt:STEP?", _steps),
    *_scan_setting("INTerval", "scan_interval", _interval, show_number),
    *_scan_setting("BUFFer", "scan_buffer", _buffer),
    *setting_and_query("ROUTe:SCAN:STARt[:STIMulus]", _set_stimulus, _stimulus),
    *_scan_setting("RESTart", "restart", _restart, show_bool, while_scanning=True),
    Command("ROUTe:SCAN:EXPort", _export),
    Command("ROUTe:SCAN:STATe?", _scan_state),
    Command("ROUTe:[CHANnel:]CLOSe", _close),
    Command("ROUTe:[CHANnel:]CLOSe?", _closed),
    Command("ROUTe:[CHANnel:]OPEN", _open),
    Command("ROUTe:OPEN:ALL", _open_all),
    Command("ROUTe:[CHANnel:]STATe?", _channel_state),
    Command("INITiate[:IMMediate]", _initiate),
    Command("ABORt", _abort),
    Command("TRIGger:STATe?", _trigger),
]
