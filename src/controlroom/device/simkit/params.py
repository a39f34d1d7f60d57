"""Parameters of a simulated instrument's commands: counts, numbers with units, keywords.

Each parser raises the SCPI error an instrument queues for a bad parameter:
-109 / -108 for too few / too many, -104 for something that is not a number,
-222 for a number out of range, -224 for a value that is not one of the
choices. An instrument without an error queue maps them to its event bits.
"""

from __future__ import annotations

import math
import re

from controlroom.device.replies import SCPI_BOOLEANS
from controlroom.device.simkit.scpi import ScpiError

_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)")
_PREFIXES = {"": 1.0, "M": 1e-3, "K": 1e3}
"""SCPI suffixes are case-insensitive, so ``M`` is milli (``500mV``, ``500MV``)."""
_KEYWORDS = {"MIN": "MIN", "MINIMUM": "MIN", "MAX": "MAX", "MAXIMUM": "MAX"}
_KEYWORDS |= {"DEF": "DEF", "DEFAULT": "DEF"}


def expect(args: list[str], count: int) -> list[str]:
    """Check the number of parameters: too few is -109, too many -108."""
    if len(args) < count:
        raise ScpiError(-109)
    if len(args) > count:
        raise ScpiError(-108)
    return args


def to_real(text: str, *, unit: str = "", refusal: int = -104) -> float:
    """A finite number, with a suffix of ``unit`` if given: ``5``, ``5V``, ``500mV``, ``1kV``.

    ``refusal`` is the error number the instrument gives for anything else.
    """
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        raise ScpiError(refusal, text)
    value = float(match[1])
    suffix = match[2].upper()
    if suffix:
        prefix, found = suffix[: -len(unit) or None], suffix[-len(unit) :]
        if not unit or found != unit.upper() or prefix not in _PREFIXES:
            raise ScpiError(refusal, text)
        value *= _PREFIXES[prefix]
    if not math.isfinite(value):
        raise ScpiError(refusal, text)
    return value


def within(value: float, low: float, high: float) -> float:
    """``value`` if it lies in [low, high], else -222."""
    if not low <= value <= high:
        raise ScpiError(-222, f"{value:g} is outside {low:g} to {high:g}")
    return value


def to_number(
    text: str, low: float, high: float, *, default: float | None = None, unit: str = ""
) -> float:
    """A numeric parameter in [low, high]: a number (see :func:`to_real`), ``MIN``, ``MAX``
    or ``DEF`` (``default``, else ``low``)."""
    keyword = _KEYWORDS.get(text.strip().upper())
    if keyword == "MIN":
        return low
    if keyword == "MAX":
        return high
    if keyword == "DEF":
        return low if default is None else default
    return within(to_real(text, unit=unit), low, high)


def to_int(text: str, low: int, high: int) -> int:
    """A whole number (``2`` or ``2.0``) in [low, high]; a fraction is -104."""
    value = to_real(text)
    if not value.is_integer():
        raise ScpiError(-104, text)
    return int(within(value, low, high))


def to_bool(text: str) -> bool:
    """A boolean parameter: ``ON``, ``OFF``, ``1`` or ``0``."""
    try:
        return SCPI_BOOLEANS[text.strip().upper()]
    except KeyError:
        raise ScpiError(-224, text) from None


def format_bool(value: bool) -> str:
    return "1" if value else "0"


def keyword(text: str, choices: dict[str, str]) -> str:
    """``"cel"`` → ``"C"`` given ``{"CEL": "C", ...}``; anything else is -224."""
    try:
        return choices[unquote(text).upper()]
    except KeyError:
        raise ScpiError(-224, f"{text!r} is not one of {', '.join(choices)}") from None


def unquote(text: str) -> str:
    """Strip the double quotes around a string parameter, if any."""
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        return stripped[1:-1]
    return stripped
