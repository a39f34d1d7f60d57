"""Reading the OGSE controller's replies: ``name: VALUE`` lines, ``OK`` and ``ERROR: ...``.

Parse hooks for the driver's ``@command`` declarations. A reply that starts
with ``ERROR`` becomes :class:`~controlroom.device.CommandRefused` (the
controller's own words); anything else the driver cannot read becomes a
``ReplyError`` quoting it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import Any

from controlroom.device import CommandRefused, ReplyError
from controlroom.devices.ogse import protocol

_LEVEL = re.compile(r"(\*\s*)?(\S+)\s+#(\d+)")
_FLAGS = re.compile(r"flags:\s*0x([0-9a-fA-F]+)\b.*")
_METER = re.compile(r"(\S+)\s+W\s+(\S+)\s+C")


class Interlock(enum.StrEnum):
    """State of the safety interlock: OPEN stops the laser and the lamp."""

    OPEN = protocol.INTERLOCK_OPEN.true
    CLOSED = protocol.INTERLOCK_OPEN.false


def check_reply(reply: str) -> None:
    """Raise :class:`CommandRefused` when the controller answered with an error."""
    text = reply.strip()
    if text.upper().startswith(protocol.ERROR_PREFIX):
        reason = text[len(protocol.ERROR_PREFIX) :].lstrip(" :")
        raise CommandRefused(f"the OGSE refused the command: {reason or text}")


def expect_ok(reply: str) -> None:
    check_reply(reply)
    if reply.strip() != protocol.OK:
        raise ReplyError(f"expected OK from the OGSE, got {reply!r}")


def no_value(reply: str) -> None:
    """An action's ``OK`` carries nothing for the caller."""


def named_value(reply: str, name: str) -> str:
    """``"lamp: ON"`` -> ``"ON"``, checking the name."""
    key, sep, value = reply.partition(":")
    if not sep or key.strip().lower() != name:
        raise ReplyError(f"expected '{name}: ...' from the OGSE, got {reply!r}")
    return value.strip()


def _word(text: str, words: protocol.Words, what: str) -> bool:
    word = text.strip().upper()
    if word not in words:
        raise ReplyError(f"expected {words.true} or {words.false} for {what}, got {text!r}")
    return word == words.true


def on_off(name: str) -> Callable[[str], bool]:
    """Parse ``name: ON|OFF`` to True/False."""
    return lambda reply: _word(named_value(reply, name), protocol.SWITCH, name)


def fault(name: str) -> Callable[[str], bool]:
    """Parse ``name: ERROR|NO-ERROR`` to True (fault) / False."""
    return lambda reply: _word(named_value(reply, name), protocol.FAULT, name)


def link(name: str) -> Callable[[str], bool]:
    """Parse ``name: OK|ERROR`` (a connection state) to True (OK) / False."""
    return lambda reply: _word(named_value(reply, name), protocol.LINK_OK, name)


def parse_interlock(reply: str) -> Interlock:
    value = named_value(reply, "interlock").upper()
    try:
        return Interlock(value)
    except ValueError:
        raise ReplyError(f"expected OPEN or CLOSE for the interlock, got {reply!r}") from None


def _float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ReplyError(f"expected a number for {what}, got {text!r}") from None


def parse_level(text: str) -> dict[str, Any]:
    """``* 1.00E-02 #20`` -> moving flag, factor and index of the attenuator."""
    match = _LEVEL.fullmatch(text.strip())
    if match is None:
        raise ReplyError(f"expected '[*] <factor> #<index>' for the attenuator, got {text!r}")
    star, factor, index = match.groups()
    return {
        "att_moving": star is not None,
        "att_factor": _float(factor, "the attenuation factor"),
        "att_index": int(index),
    }


def parse_att_level(reply: str) -> dict[str, Any]:
    return parse_level(named_value(reply, "att-level"))


def _quantity(text: str, unit: str, what: str) -> float:
    number, _, found = text.strip().partition(" ")
    if found.strip() != unit:
        raise ReplyError(f"expected a value in {unit} for {what}, got {text!r}")
    return _float(number, what)


def _fields(reply: str) -> dict[str, str]:
    pairs = [part.partition(":") for part in reply.split(",")]
    if not all(sep for _, sep, _ in pairs):
        raise ReplyError(f"expected 'name: value, ...' from the OGSE, got {reply!r}")
    return {key.strip().lower(): value.strip() for key, _, value in pairs}


def _need(fields: dict[str, str], names: tuple[str, ...], reply: str) -> None:
    missing = [name for name in names if name not in fields]
    if missing:
        raise ReplyError(f"the OGSE reply lacks {', '.join(missing)}: {reply!r}")


def parse_meters(reply: str) -> dict[str, float]:
    """``pm1: +2.2e-10 W +22.5 C, pm2: ...`` -> power (W) and temperature (°C) of each."""
    fields = _fields(reply)
    _need(fields, ("pm1", "pm2"), reply)
    values: dict[str, float] = {}
    for meter in ("pm1", "pm2"):
        match = _METER.fullmatch(fields[meter])
        if match is None:
            raise ReplyError(f"expected '<power> W <temperature> C' for {meter}, got {reply!r}")
        values[f"{meter}_power"] = _float(match[1], f"{meter} power")
        values[f"{meter}_temp"] = _float(match[2], f"{meter} temperature")
    return values


def parse_pm_status(reply: str) -> dict[str, bool]:
    fields = _fields(reply)
    _need(fields, ("pm1", "pm2"), reply)
    return {m: _word(fields[m], protocol.LINK_OK, m) for m in ("pm1", "pm2")}


def parse_flags(reply: str) -> dict[str, Any]:
    """``flags: 0x5b  0101 1011`` -> the number and each named state."""
    match = _FLAGS.fullmatch(reply.strip())
    if match is None:
        raise ReplyError(f"expected 'flags: 0x..' from the OGSE, got {reply!r}")
    value = int(match[1], 16)
    return {"value": value, **protocol.decode_flags(value)}


_SWITCHES = ("power", "psu", "operate", "laser", "lamp")


def parse_status(reply: str) -> dict[str, Any]:
    """The ``status`` line as switch states, interlock, attenuator and both power meters."""
    fields = _fields(reply)
    names = (*_SWITCHES, "interlock", "att", "power-ch1", "power-ch2", "temp-ch1", "temp-ch2")
    _need(fields, names, reply)
    values: dict[str, Any] = {f"{n}_on": _word(fields[n], protocol.SWITCH, n) for n in _SWITCHES}
    values["interlock_open"] = (
        parse_interlock(f"interlock: {fields['interlock']}") is Interlock.OPEN
    )
    values |= parse_level(fields["att"])
    for channel in ("1", "2"):
        values[f"pm{channel}_power"] = _quantity(
            fields[f"power-ch{channel}"], protocol.WATT, "power"
        )
        values[f"pm{channel}_temp"] = _quantity(
            fields[f"temp-ch{channel}"], protocol.CELSIUS, "temperature"
        )
    return values
