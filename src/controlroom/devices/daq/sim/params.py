"""Parsing the DAQ6510's parameters and headers (pure, no I/O).

Keywords match as headers do, in the short or the long form (``TC`` or
``TCOUPLE``, ``CELS`` or ``CELSIUS``); strings come in double or single quotes
(the manual uses both); a numeric suffix in a header (``SENSe1``, ``CARD2``)
is taken off the node, and for a card it becomes the first parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from controlroom.device.simkit.params import to_real
from controlroom.device.simkit.scpi import ScpiError, split_unit
from controlroom.devices.daq.channels import ChannelListError, parse_channels

_SUFFIXED = re.compile(r"([A-Za-z]+)(\d+)(\??)")
_SUFFIX_ONE = frozenset({"SENS", "SENSE", "TRAC", "TRACE"})
_SUFFIX_PARAMETER = frozenset({"CARD"})
_DISPLAY = frozenset({"DISP", "DISPLAY"})
_BOOLEANS = {"ON": True, "OFF": False, "1": True, "0": False}


def split_daq_unit(unit: str) -> tuple[str, list[str]]:
    """A message unit's header and parameters, with numeric header suffixes resolved.

    Every ``DISPlay`` setting is one header: the simulator has no screen to set.
    """
    header, args = split_unit(unit)
    nodes = header.split(":")
    leading: list[str] = []
    for index, node in enumerate(nodes):
        match = _SUFFIXED.fullmatch(node)
        if match is None:
            continue
        name = match[1].upper()
        if name in _SUFFIX_PARAMETER:
            leading.append(match[2])
        elif name not in _SUFFIX_ONE or match[2] != "1":
            continue  # left as it is: no such header, -113
        nodes[index] = match[1] + match[3]
    if len(nodes) > 1 and nodes[1].upper() in _DISPLAY and not header.endswith("?"):
        return ":DISPLAY", []
    return ":".join(nodes), leading + args


def mnemonic(text: str, choices: Mapping[str, str]) -> str:
    """``"tcouple"`` → ``"TC"`` given ``{"TCouple": "TC"}``: short or long form; else -224."""
    word = unquote(text).upper()
    for name, value in choices.items():
        short = "".join(char for char in name if not char.islower())
        if word in (short, name.upper()):
            return value
    raise ScpiError(-224, f"{unquote(text)} is not one of {', '.join(choices)}")


def unquote(text: str) -> str:
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'":
        return stripped[1:-1]
    return stripped


def channels_of(text: str) -> list[int]:
    """A channel list parameter, ``(@101:110,201)``; -224 for anything else."""
    if not text.strip().startswith("("):
        raise ScpiError(-224, f"expected a channel list like (@101:110), got {text}")
    try:
        return parse_channels(text)
    except ChannelListError as exc:
        raise ScpiError(-224, str(exc)) from None


def number(text: str, low: float, high: float, default: float | None = None) -> float:
    """A number in [low, high], or ``MIN``, ``MAX``, ``DEF``."""
    word = text.strip().upper()
    if word in ("MIN", "MINIMUM"):
        return low
    if word in ("MAX", "MAXIMUM"):
        return high
    if word in ("DEF", "DEFAULT"):
        return low if default is None else default
    value = to_real(text, refusal=-224)
    if not low <= value <= high:
        raise ScpiError(-222, f"{value:g} is outside {low:g} to {high:g}")
    return value


def whole(text: str, low: int, high: int) -> int:
    value = number(text, low, high)
    if not value.is_integer():
        raise ScpiError(-224, f"{text.strip()} is not a whole number")
    return int(value)


def boolean(text: str) -> bool:
    try:
        return _BOOLEANS[text.strip().upper()]
    except KeyError:
        raise ScpiError(-224, f"{text.strip()} is not ON, OFF, 1 or 0") from None


def show_number(value: float) -> str:
    """How the instrument answers a numeric setting: ``1``, ``0.0005``, ``23``."""
    return f"{value:.7g}"


def show_bool(value: bool) -> str:
    return "1" if value else "0"
