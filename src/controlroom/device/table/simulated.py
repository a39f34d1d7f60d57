"""A command table answered as the instrument would: for dry runs and tests (pure, no I/O).

Each command's string template is matched back against the lines received
(case-insensitive; each ``${name}`` takes the argument's text), the arguments
are checked as the driver checks them, and the table's ``sim`` entries say
what happens:

* a write stores its arguments in the simulator's state under their names,
  or what its ``set`` mapping says (``set: {range: "${volts}"}``);
* a query answers its ``reply`` template over the state and its arguments,
  or the next of its scripted ``replies`` (round and round), or else the
  state value named like the command;
* ``delay_s`` is the time the instrument takes.

On a SCPI table (``errors: scpi``) a line holds several commands joined by
``;``, ``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?`` and ``SYST:ERR?`` are answered
when the table does not declare them itself, and a refused command queues a
numbered error (``-113`` unknown, ``-104`` wrong type, ``-222`` out of range,
``-224`` not a choice) read back with ``SYST:ERR?``. On another instrument a
refused command answers ``simulator.refusal`` (nothing by default).
"""

from __future__ import annotations

import collections
import re
import string
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from controlroom.device.replies import SCPI_BOOLEANS
from controlroom.device.simkit.scpi import ErrorQueue, ScpiError, split_outside
from controlroom.device.synthesized import Argument
from controlroom.device.table.model import Table, TableCommand

_SIMPLE = re.compile(r"^\$\{?(?P<name>[a-z][a-z0-9_]*)\}?$")
_STANDARD = {"*IDN?", "*RST", "*CLS", "*OPC?", "SYST:ERR?", "SYSTEM:ERROR?", "SYST:ERR:NEXT?"}
_DEFAULTS: dict[str, str] = {"float": "0", "int": "0", "bool": "0", "str": ""}
MAX_LINE = 4096


class TableSimulation:
    """The state of a simulated table instrument, and its answers to command lines."""

    def __init__(self, table: Table, *, speed: float = 1.0) -> None:
        self.table = table
        self.speed = speed
        sim = table.simulator
        self.identity = str(sim.get("identity") or f"controlroom,{table.name},0,1.0")
        self.refusal = sim.get("refusal")
        self._initial = {str(k): v for k, v in dict(sim.get("state") or {}).items()}
        self.state: dict[str, Any] = dict(self._initial)
        self.errors = ErrorQueue()
        self.received: collections.deque[str] = collections.deque(maxlen=1000)  # for tests
        self._scripts: dict[str, int] = {}
        self._lock = threading.Lock()
        scpi = table.scpi_errors
        self._matchers = [(_matcher(command, scpi), command) for command in table.commands]

    def handle_line(self, line: str) -> str | None:
        """The reply to one received line (several ``;``-joined commands on SCPI), or None."""
        if len(line) > MAX_LINE:  # what an instrument's input buffer would not hold
            return self._refuse(ScpiError(-102, "line too long"))
        with self._lock:
            units = split_outside(line, ";") if self.table.scpi_errors else [line]
            replies = [self._unit(unit.strip()) for unit in units if unit.strip()]
        answered = [reply for reply in replies if reply is not None]
        return ";".join(answered) if answered else None

    def reset(self) -> None:
        self.state = dict(self._initial)
        self._scripts.clear()

    def _unit(self, unit: str) -> str | None:
        if self.table.scpi_errors:
            unit = unit.removeprefix(":")
        self.received.append(unit)
        standard = self.table.scpi_errors and unit.upper() in _STANDARD
        for matcher, command in self._matchers:
            found = matcher.fullmatch(unit)
            if found is not None and not (standard and not command.sim):
                return self._run(command, found.groupdict())
        if standard:  # declared without a simulated answer, or not declared: the usual one
            return self._standard(unit.upper())
        return self._refuse(ScpiError(-113, unit.split(" ")[0][:40]))

    def _standard(self, header: str) -> str | None:
        if header == "*IDN?":
            return self.identity
        if header == "*RST":
            self.reset()
        elif header == "*CLS":
            self.errors.clear()
        elif header == "*OPC?":
            return "1"
        elif header.startswith("SYST"):
            return self.errors.pop()
        return None

    def _run(self, command: TableCommand, texts: Mapping[str, str]) -> str | None:
        try:
            args = {arg.name: _argument(arg, texts.get(arg.name, "")) for arg in command.args}
        except ScpiError as refused:
            return self._refuse(refused)
        delay = float(command.sim.get("delay_s") or 0.0)
        if delay > 0:
            time.sleep(delay / self.speed)  # the instrument's own time, as the table gives it
        if command.kind == "write":
            self._store(command, args)
            return None
        return self._reply(command, args)

    def _store(self, command: TableCommand, args: dict[str, Any]) -> None:
        updates = command.sim.get("set")
        if not isinstance(updates, Mapping):
            self.state.update(args)
            return
        for key, value in updates.items():
            self.state[str(key)] = _filled(value, {**self.state, **args})

    def _reply(self, command: TableCommand, args: dict[str, Any]) -> str:
        values = {**self.state, **args}
        scripted = command.sim.get("replies")
        if isinstance(scripted, list) and scripted:
            turn = self._scripts.get(command.name, 0)
            self._scripts[command.name] = turn + 1
            return str(_filled(scripted[turn % len(scripted)], values))
        if "reply" in command.sim:
            return str(_filled(command.sim["reply"], values))
        if command.name in self.state:
            return _text(self.state[command.name])
        reading = command.reading
        return _DEFAULTS.get(reading.type_name if reading else "str", "0")

    def _refuse(self, error: ScpiError) -> str | None:
        if self.table.scpi_errors:
            self.errors.push(error)
            return None
        return None if self.refusal is None else str(self.refusal)


def _matcher(command: TableCommand, scpi: bool) -> re.Pattern[str]:
    """A pattern matching the lines the command's template gives, capturing each argument."""
    if command.kind == "read":
        return re.compile(r"(?!)")  # a read sends nothing: nothing received is it
    # A SCPI header may start at the root with a colon or without one.
    template = command.template.removeprefix(":") if scpi else command.template
    parts: list[str] = []
    position = 0
    for found in string.Template.pattern.finditer(template):
        before = template[position : found.start()]
        parts.append(_literal(before))
        name = found.group("named") or found.group("braced")
        after = template[found.end() : found.end() + 1]
        parts.append(_capture(name, before[-1:], after) if name else re.escape("$"))
        position = found.end()
    parts.append(_literal(template[position:]))
    return re.compile("".join(parts), re.IGNORECASE)


def _capture(name: str, opening: str, closing: str) -> str:
    """What one argument's text may be, up to what the template has next.

    Possessive (it never gives characters back), so a line is matched in
    linear time whatever a client sends.
    """
    if opening in ("'", '"'):  # a quoted string: up to the closing quote
        return f"(?P<{name}>[^{opening}]*+)"
    stop = re.escape(closing) if closing and not closing.isalnum() else ""
    return f"(?P<{name}>[^\\s,;\"'{stop}]++)"  # a number, a word


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(piece) for piece in text.split(" "))


def _argument(arg: Argument, text: str) -> Any:
    """The value a received argument text stands for, checked as the driver checks it."""
    convert: Callable[[str], Any] = _CONVERSIONS[arg.annotation.__name__]
    try:
        value = convert(text.strip())
    except (ValueError, KeyError):
        raise ScpiError(-104, f"{arg.name}={text[:40]}") from None
    try:
        return arg.check(value)
    except ValueError:
        code = -222 if isinstance(value, int | float) and not isinstance(value, bool) else -224
        raise ScpiError(code, f"{arg.name}={text[:40]}") from None


_CONVERSIONS: dict[str, Callable[[str], Any]] = {
    "float": float,
    "int": lambda text: int(float(text)) if float(text).is_integer() else int(text),
    "bool": lambda text: SCPI_BOOLEANS[text.upper()],
    "str": lambda text: text.strip('"').strip("'"),
}


def _filled(value: Any, values: Mapping[str, Any]) -> Any:
    """A template from the table filled in; ``${name}`` alone keeps the value's type."""
    if not isinstance(value, str):
        return value
    whole = _SIMPLE.match(value)
    if whole is not None and whole.group("name") in values:
        return values[whole.group("name")]
    return string.Template(value).safe_substitute({k: _text(v) for k, v in values.items()})


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
