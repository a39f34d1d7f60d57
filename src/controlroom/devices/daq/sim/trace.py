"""Reading buffers and readings of the simulated DAQ6510: ``TRACe``, ``FORMat``, ``READ?``,
``FETCh?``, ``MEASure:TEMPerature?``.

A query that returns readings takes a buffer name and the elements to give
for each reading, in the order asked (``TRAC:DATA? 1, 10, "defbuffer1",
READ, CHAN, UNIT``); without elements it gives the reading alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

from controlroom.device.simkit.params import expect
from controlroom.device.simkit.scpi import Command, ScpiError
from controlroom.devices.daq.sim.buffers import (
    MAX_CAPACITY,
    STATUS_QUESTIONABLE,
    Entry,
    ReadingBuffer,
    check_capacity,
)
from controlroom.devices.daq.sim.config import DEFAULT_BUFFER, unit_name, unit_symbol
from controlroom.devices.daq.sim.params import channels_of, mnemonic, unquote, whole
from controlroom.devices.daq.sim.state import DaqState

ELEMENTS = {
    "CHANnel": "CHAN",
    "DATE": "DATE",
    "FORMatted": "FORM",
    "FRACtional": "FRAC",
    "READing": "READ",
    "RELative": "REL",
    "SEConds": "SEC",
    "STATus": "STAT",
    "TIME": "TIME",
    "TSTamp": "TST",
    "UNIT": "UNIT",
}
MAX_ELEMENTS = 14
MAX_PRECISION = 16


def format_reading(value: float, precision: int = 0) -> str:
    """``2.931500000E+02``: ten significant digits, or ``precision`` if set."""
    digits = 9 if precision == 0 else precision - 1
    return f"{value:.{digits}E}"


def _instant(state: DaqState, entry: Entry) -> tuple[datetime, float, str]:
    """When a reading was made: the whole second, its fraction, and ``HH:MM:SS.nnnnnnnnn``."""
    # Split before adding: a double near 1.7e9 s cannot hold the nanoseconds.
    epoch_s = math.floor(state.epoch)
    offset = state.epoch - epoch_s + entry.moment
    stamp = datetime.fromtimestamp(epoch_s + math.floor(offset), UTC)
    fraction = offset - math.floor(offset)
    return stamp, fraction, f"{stamp:%H:%M:%S}.{min(round(fraction * 1e9), 999_999_999):09d}"


def _render(state: DaqState, entry: Entry, element: str, first: float) -> str:
    match element:
        case "READ":
            return format_reading(entry.reading, state.ascii_precision)
        case "CHAN":
            return str(entry.channel)
        case "UNIT":
            return unit_name(entry.unit)
        case "REL":
            return format_reading(entry.moment - first)
        case "STAT":
            return format_reading(float(entry.status))
        case "FORM":
            if entry.status & STATUS_QUESTIONABLE:
                return "Overflow"
            return f"{entry.reading:+08.3f} {unit_symbol(entry.unit)}"
    stamp, fraction, time_text = _instant(state, entry)
    match element:
        case "DATE":
            return f"{stamp:%m/%d/%Y}"
        case "FRAC":
            return f"{fraction:.9f}"
        case "SEC":
            return str(int(stamp.timestamp()))
        case "TIME":
            return time_text
    return f"{stamp:%m/%d/%Y} {time_text}"


def _readings(
    state: DaqState, buffer: ReadingBuffer, entries: Sequence[Entry], elements: list[str]
) -> str:
    first = buffer.span(1, 1)[0].moment if len(buffer) else 0.0
    return ",".join(
        _render(state, entry, element, first) for entry in entries for element in elements
    )


def _buffer_and_elements(state: DaqState, args: list[str]) -> tuple[ReadingBuffer, list[str]]:
    """``["defbuffer1", "READ", "CHAN"]`` → the buffer and the elements (``READ`` if none)."""
    name = unquote(args[0]) if args else DEFAULT_BUFFER
    if len(args) > 1 + MAX_ELEMENTS:
        raise ScpiError(-108, f"at most {MAX_ELEMENTS} buffer elements")
    elements = [mnemonic(arg, ELEMENTS) for arg in args[1:]] or ["READ"]
    return state.buffers.get(name), elements


def _optional_buffer(state: DaqState, args: list[str]) -> ReadingBuffer:
    if len(args) > 1:
        raise ScpiError(-108)
    return state.buffers.get(unquote(args[0]) if args else DEFAULT_BUFFER)


def _data(state: DaqState, args: list[str]) -> str:
    if len(args) < 2:
        raise ScpiError(-109)
    start, end = (whole(arg, 1, MAX_CAPACITY) for arg in args[:2])
    buffer, elements = _buffer_and_elements(state, args[2:])
    return _readings(state, buffer, buffer.span(start, end), elements)


def _actual(state: DaqState, args: list[str]) -> str:
    return str(len(_optional_buffer(state, args)))


def _actual_start(state: DaqState, args: list[str]) -> str:
    return "1" if len(_optional_buffer(state, args)) else "0"


def _clear(state: DaqState, args: list[str]) -> None:
    buffer = _optional_buffer(state, args)
    if state.running and state.run is not None and state.buffers.get(state.run.buffer) is buffer:
        raise ScpiError(-221, "the running scan fills this buffer")
    buffer.clear()


def _set_points(state: DaqState, args: list[str]) -> None:
    if not args:
        raise ScpiError(-109)
    buffer = _optional_buffer(state, args[1:])
    state.require_idle()
    buffer.resize(check_capacity(whole(args[0], 1, MAX_CAPACITY)))


def _points(state: DaqState, args: list[str]) -> str:
    return str(_optional_buffer(state, args).capacity)


def _make(state: DaqState, args: list[str]) -> None:
    if len(args) not in (2, 3):
        raise ScpiError(-109 if len(args) < 2 else -108)
    state.buffers.make(unquote(args[0]), whole(args[1], 0, MAX_CAPACITY))


def _delete(state: DaqState, args: list[str]) -> None:
    name = unquote(expect(args, 1)[0])
    if state.running and state.run is not None and state.run.buffer.lower() == name.lower():
        raise ScpiError(-221, "the running scan fills this buffer")
    state.buffers.delete(name)


def _set_fill(state: DaqState, args: list[str]) -> None:
    if not args:
        raise ScpiError(-109)
    mode = mnemonic(args[0], {"ONCE": "ONCE", "CONTinuous": "CONT"})
    _optional_buffer(state, args[1:]).continuous = mode == "CONT"


def _fill(state: DaqState, args: list[str]) -> str:
    return "CONT" if _optional_buffer(state, args).continuous else "ONCE"


def _set_format(_state: DaqState, args: list[str]) -> None:
    chosen = mnemonic(expect(args, 1)[0], {"ASCii": "ASC", "REAL": "REAL", "SREal": "SRE"})
    if chosen != "ASC":
        raise ScpiError(-221, "binary data formats are not simulated")


def _format(_state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return "ASC"


def _set_precision(state: DaqState, args: list[str]) -> None:
    state.ascii_precision = whole(expect(args, 1)[0], 0, MAX_PRECISION)


def _precision(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return str(state.ascii_precision)


def _closed_channel(state: DaqState) -> int:
    if state.closed is None:
        raise ScpiError(-221, "no channel is closed: the terminals are not simulated")
    return state.closed


def _read(state: DaqState, args: list[str]) -> str:
    state.require_idle()
    buffer, elements = _buffer_and_elements(state, args)
    channel = _closed_channel(state)
    state.config(channel)
    entry = state.measure(channel, unquote(args[0]) if args else DEFAULT_BUFFER)
    return _readings(state, buffer, [entry], elements)


def _fetch(state: DaqState, args: list[str]) -> str:
    buffer, elements = _buffer_and_elements(state, args)
    return _readings(state, buffer, [buffer.latest()], elements)


def _measure(state: DaqState, args: list[str]) -> str:
    """``MEAS:TEMP? [(@list)][, "buffer"[, elements]]``: one reading per channel."""
    listed = bool(args) and args[0].strip().startswith("(")
    channels = channels_of(args[0]) if listed else [_closed_channel(state)]
    rest = args[1:] if listed else args
    buffer, elements = _buffer_and_elements(state, rest)
    state.require_idle()
    for channel in channels:
        state.config(channel)
    name = unquote(rest[0]) if rest else DEFAULT_BUFFER
    entries = [state.measure(channel, name) for channel in channels]
    return _readings(state, buffer, entries, elements)


TRACE_COMMANDS: list[Command[DaqState]] = [
    Command("TRACe:DATA?", _data),
    Command("TRACe:ACTual?", _actual),
    Command("TRACe:ACTual:STARt?", _actual_start),
    Command("TRACe:ACTual:END?", _actual),
    Command("TRACe:CLEar", _clear),
    Command("TRACe:POINts", _set_points),
    Command("TRACe:POINts?", _points),
    Command("TRACe:MAKE", _make),
    Command("TRACe:DELete", _delete),
    Command("TRACe:FILL:MODE", _set_fill),
    Command("TRACe:FILL:MODE?", _fill),
    Command("FORMat[:DATA]", _set_format),
    Command("FORMat[:DATA]?", _format),
    Command("FORMat:ASCii:PRECision", _set_precision),
    Command("FORMat:ASCii:PRECision?", _precision),
    Command("READ?", _read),
    Command("FETCh?", _fetch),
    Command("MEASure:TEMPerature?", _measure),
]
