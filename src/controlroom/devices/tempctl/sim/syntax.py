"""Lake Shore remote-interface syntax for the Model 336 simulator (pure, no I/O).

A command is a mnemonic, then its parameters separated by ``,`` (``SETP 1,300``;
a space after the mnemonic is optional, a leading ``:`` as SCPI clients send is
ignored). One line may hold several commands separated by ``;``, run in order by
:func:`controlroom.device.simkit.scpi.execute` with :func:`split_command`. The
336 has no error queue: a command that fails gives no reply and sets a bit in
the standard event status register, command error (CME, 32) for an unknown
command or malformed parameters, execution error (EXE, 16) for a parameter out
of range, as the IEEE 488.2 groups of the SCPI error numbers say.
"""

from __future__ import annotations

import re

from controlroom.device.simkit.scpi import ScpiError, split_outside

_COMMAND = re.compile(r"\s*:?\s*(\*?[A-Za-z]+\??)\s*(.*?)\s*", re.DOTALL)


def split_command(unit: str) -> tuple[str, list[str]]:
    """``"setp 1, 300"`` → (``":setp"``, ``["1", "300"]``), the header as the table matches it."""
    match = _COMMAND.fullmatch(unit)
    if match is None:
        raise ScpiError(-102, "not a command")
    name, rest = match.groups()
    args = [arg.strip() for arg in split_outside(rest, ",")] if rest else []
    return ":" + name, args


def format_reading(value: float) -> str:
    """Six significant digits with a sign, as the 336 sends readings: ``+293.150``, ``+4.20000``."""
    decimals = 5
    text = f"{value:+.{decimals}f}"
    while decimals > 0 and len(text.split(".", maxsplit=1)[0]) - 1 + decimals > 6:
        decimals -= 1
        text = f"{value:+.{decimals}f}"
    return text


def format_fixed(value: float, integer_digits: int, decimals: int) -> str:
    """Sign and zero-padded fixed point, e.g. ``+nnn.n`` -> ``+045.3``."""
    width = 1 + integer_digits + (decimals + 1 if decimals else 0)
    return f"{value:+0{width}.{decimals}f}"
