"""The ``when`` of a rule: an HK condition that must hold for a while, or an event.

::

    when: {hk: TEMPCTL_TEMP_A, above: 300.0, for_s: 60}   # or below:, equals:, between: [a, b]
    when: {hk: DUMMY_TEMP, below: 5.0, server: dummy}       # only samples of that server
    when: {event: interlock_open, server: ogse}              # server: optional, any by default
    when: {event: limit, match: {name: TEMPCTL_TEMP_A}}      # and the event's data has these

An HK condition names a parameter by the name it is published under (the
canonical name of the telemetry dictionary, or a synoptics name). ``above``
and ``below`` are strict; ``between`` includes both ends; ``equals`` compares
numbers, text or true/false. A value that is not a number never holds a
numeric test. ``for_s`` (default 0) is how long it must hold without a break.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controlroom.services.scenarios.errors import ConditionError

TESTS = ("above", "below", "equals", "between")
HK_KEYS = frozenset({"hk", "server", "for_s", *TESTS})
EVENT_KEYS = frozenset({"event", "server", "match"})


@dataclass(frozen=True)
class HkCondition:
    """A housekeeping parameter compared with a threshold, held for ``for_s`` seconds."""

    hk: str
    test: str
    threshold: Any
    for_s: float = 0.0
    server: str | None = None

    def applies(self, server: str, values: Mapping[str, Any]) -> bool:
        """Whether a sample of ``server`` carries this condition's parameter."""
        return self.hk in values and (self.server is None or self.server == server)

    def holds(self, value: Any) -> bool:
        if self.test == "equals":
            return bool(value == self.threshold)
        if not _is_number(value):
            return False
        if self.test == "above":
            return bool(value > self.threshold)
        if self.test == "below":
            return bool(value < self.threshold)
        low, high = self.threshold
        return bool(low <= value <= high)

    def text(self) -> str:
        """``TEMPCTL_TEMP_A above 300.0 for 60 s`` (for journals and tables)."""
        threshold = list(self.threshold) if self.test == "between" else self.threshold
        held = f" for {self.for_s:g} s" if self.for_s else ""
        where = f" (from {self.server})" if self.server else ""
        return f"{self.hk} {self.test} {threshold!r}{held}{where}"

    def describe(self) -> dict[str, Any]:
        threshold = list(self.threshold) if self.test == "between" else self.threshold
        return {"hk": self.hk, self.test: threshold, "for_s": self.for_s, "server": self.server}


@dataclass(frozen=True)
class EventCondition:
    """An event, from any server or the one named, whose data has the ``match`` values."""

    event: str
    server: str | None = None
    match: dict[str, Any] = field(default_factory=dict)

    def matches(self, server: str, values: Mapping[str, Any]) -> bool:
        if values.get("event") != self.event:
            return False
        if self.server is not None and server != self.server:
            return False
        return all(key in values and values[key] == want for key, want in self.match.items())

    def text(self) -> str:
        source = f" from {self.server}" if self.server else ""
        extra = f" with {self.match}" if self.match else ""
        return f"event {self.event}{source}{extra}"

    def describe(self) -> dict[str, Any]:
        return {"event": self.event, "server": self.server, "match": dict(self.match)}


Condition = HkCondition | EventCondition


def parse_when(when: Any) -> Condition:
    """The condition ``when`` describes; :class:`ConditionError` names the key at fault."""
    if not isinstance(when, Mapping):
        raise ConditionError("when: expected a mapping with hk: or event:")
    if ("hk" in when) == ("event" in when):
        raise ConditionError("when: give exactly one of hk: (a parameter) or event: (an event)")
    return _hk(when) if "hk" in when else _event(when)


def _hk(when: Mapping[str, Any]) -> HkCondition:
    _known_keys(when, HK_KEYS)
    tests = [key for key in TESTS if key in when]
    if len(tests) != 1:
        raise ConditionError(f"when: give exactly one of {', '.join(TESTS)} (given: {tests})")
    test = tests[0]
    return HkCondition(
        _name(when, "hk"),
        test,
        _threshold(test, when[test]),
        seconds(when.get("for_s", 0.0), "when.for_s"),
        _server(when),
    )


def _event(when: Mapping[str, Any]) -> EventCondition:
    _known_keys(when, EVENT_KEYS)
    match = when.get("match") or {}
    if not isinstance(match, Mapping) or not all(isinstance(k, str) for k in match):
        raise ConditionError("when.match: must map event data keys to values")
    return EventCondition(_name(when, "event"), _server(when), dict(match))


def _known_keys(when: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(str(key) for key in when if key not in known)
    if unknown:
        raise ConditionError(f"when: unknown key(s) {unknown} (known: {sorted(known)})")


def _name(when: Mapping[str, Any], key: str) -> str:
    value = when.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConditionError(f"when.{key}: must be a non-empty name, not {value!r}")
    return value.strip()


def _server(when: Mapping[str, Any]) -> str | None:
    return None if when.get("server") is None else _name(when, "server")


def _threshold(test: str, value: Any) -> Any:
    where = f"when.{test}"
    if test == "equals":
        if not isinstance(value, bool | int | float | str) or not _finite(value):
            raise ConditionError(f"{where}: must be a number, text or true/false, not {value!r}")
        return value
    if test == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ConditionError(f"{where}: must be two numbers [low, high], not {value!r}")
        low, high = (_number(v, where) for v in value)
        if low > high:
            raise ConditionError(f"{where}: low {low!r} is above high {high!r}")
        return (low, high)
    return _number(value, where)


def _number(value: Any, where: str) -> float:
    if not _is_number(value) or not _finite(value):
        raise ConditionError(f"{where}: must be a finite number, not {value!r}")
    return float(value)


def seconds(value: Any, where: str) -> float:
    """A duration of 0 or more seconds, else :class:`ConditionError` naming ``where``."""
    duration = _number(value, where)
    if duration < 0:
        raise ConditionError(f"{where}: must be 0 or more seconds, not {value!r}")
    return duration


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)
