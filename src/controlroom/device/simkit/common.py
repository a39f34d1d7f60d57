"""Handlers of the IEEE 488.2 common commands and ``SYSTem:ERRor``, for any simulated state.

An instrument's command table lists the ones it has, e.g.
``Command("*CLS", clear_status)``; they work on its ``status``
(:class:`~controlroom.device.simkit.scpi.Status`).
"""

from __future__ import annotations

from typing import Protocol

from controlroom.device.simkit.params import expect, to_int
from controlroom.device.simkit.scpi import ErrorQueue, Handler, HasStatus, ScpiError


class Instrument(HasStatus, Protocol):
    """A state that knows its identity and its power-up settings."""

    identity: str

    def reset(self) -> None: ...


def identify(state: Instrument, args: list[str]) -> str:
    """``*IDN?``: manufacturer, model, serial number, firmware."""
    expect(args, 0)
    return state.identity


def reset(state: Instrument, args: list[str]) -> None:
    """``*RST``: back to the power-up settings."""
    expect(args, 0)
    state.reset()


def constant(reply: str | None, *, event: int = 0) -> Handler[HasStatus]:
    """A command without parameters that always answers ``reply`` (None: no reply)
    and sets ``event`` in the event register (``*OPC``: every command completes at once)."""

    def answer(state: HasStatus, args: list[str]) -> str | None:
        expect(args, 0)
        state.status.esr |= event
        return reply

    return answer


def clear_status(state: HasStatus, args: list[str]) -> None:
    """``*CLS``: empty the error queue and the event register."""
    expect(args, 0)
    state.status.clear()


def event_status(state: HasStatus, args: list[str]) -> str:
    """``*ESR?``: the event register, cleared by reading it."""
    expect(args, 0)
    return str(state.status.read_esr())


def status_byte(state: HasStatus, args: list[str]) -> str:
    """``*STB?``."""
    expect(args, 0)
    return str(state.status.status_byte())


def mask_setter(register: str) -> Handler[HasStatus]:
    """``*ESE <n>`` / ``*SRE <n>``: set an enable mask (0-255)."""

    def set_mask(state: HasStatus, args: list[str]) -> None:
        setattr(state.status, register, to_int(expect(args, 1)[0], 0, 255))

    return set_mask


def mask_query(register: str) -> Handler[HasStatus]:
    """``*ESE?`` / ``*SRE?``."""

    def query_mask(state: HasStatus, args: list[str]) -> str:
        expect(args, 0)
        return str(getattr(state.status, register))

    return query_mask


def next_error(state: HasStatus, args: list[str]) -> str:
    """``SYST:ERR?``: the oldest entry of the error queue, ``0,"No error"`` when empty."""
    expect(args, 0)
    return _queue(state).pop()


def error_count(state: HasStatus, args: list[str]) -> str:
    """``SYST:ERR:COUN?``: how many entries the queue holds."""
    expect(args, 0)
    return str(len(_queue(state)))


def _queue(state: HasStatus) -> ErrorQueue:
    if state.status.errors is None:
        raise ScpiError(-113, "this instrument has no error queue")
    return state.status.errors
