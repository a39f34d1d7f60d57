"""Argument validators for ``@command`` declarations.

A validator checks (and may normalise) one argument value and describes itself
as a JSON Schema fragment, so the same declaration drives the controller, the
proxy, the CLI and the web forms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Validator(Protocol):
    def __call__(self, value: Any) -> Any:
        """Return the (possibly normalised) value or raise ValueError."""

    def schema(self) -> dict[str, Any]:
        """The JSON Schema keywords this validator adds."""


@dataclass(frozen=True)
class InRange:
    """A number between ``low`` and ``high``, both included."""

    low: float
    high: float

    def __call__(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number in [{self.low}, {self.high}], got {value!r}")
        if not self.low <= value <= self.high:
            raise ValueError(f"{value!r} is outside the range [{self.low}, {self.high}]")
        return value

    def schema(self) -> dict[str, Any]:
        return {"minimum": self.low, "maximum": self.high}


@dataclass(frozen=True)
class Choices:
    """One of a fixed set of values."""

    values: tuple[Any, ...]

    def __call__(self, value: Any) -> Any:
        if value in self.values:
            return value
        # Instruments are case-insensitive; accept "a" for "A" when that is unambiguous.
        if isinstance(value, str):
            for choice in self.values:
                if isinstance(choice, str) and choice.lower() == value.lower():
                    return choice
        allowed = ", ".join(repr(v) for v in self.values)
        raise ValueError(f"{value!r} is not one of {allowed}")

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


@dataclass(frozen=True)
class Matches:
    """A string matching a regular expression (whole string)."""

    pattern: str

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or re.fullmatch(self.pattern, value) is None:
            raise ValueError(f"{value!r} does not match /{self.pattern}/")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": self.pattern}


@dataclass(frozen=True)
class MaxLength:
    """A string of at most ``length`` characters (instrument name fields are short)."""

    length: int

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or len(value) > self.length:
            raise ValueError(f"{value!r} is longer than {self.length} characters")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.length}


PLAIN_TEXT = r"[^\"';\x00-\x1f\x7f]*"
"""Text that stays in its place in a command line: no quote, ``;`` or control character."""


@dataclass(frozen=True)
class PlainText:
    """A text value that cannot close a quoted string or start a second command.

    Only strings are checked (a driver argument of any type may also take a
    number); the length is checked before the characters.
    """

    length: int = 200

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            if len(value) > self.length:
                raise ValueError(f"{value[:40]!r}... is longer than {self.length} characters")
            if re.fullmatch(PLAIN_TEXT, value) is None:
                raise ValueError(f"{value!r} holds a quote, ';' or a control character")
        return value

    def schema(self) -> dict[str, Any]:
        return {"maxLength": self.length, "pattern": PLAIN_TEXT}  # both apply to strings only


@dataclass(frozen=True)
class Unit:
    """Says what unit a number is in: checks nothing, tells the schema (forms, docs)."""

    symbol: str

    def __call__(self, value: Any) -> Any:
        return value

    def schema(self) -> dict[str, Any]:
        return {"x-unit": self.symbol}


@dataclass(frozen=True)
class Check:
    """A plain function used as a validator: returns the value or raises ValueError."""

    func: Callable[[Any], Any]

    def __call__(self, value: Any) -> Any:
        return self.func(value)

    def schema(self) -> dict[str, Any]:
        return {}  # a function cannot be described; the server still applies it


def as_validator(command: str, argument: str, candidate: Any) -> Validator:
    """Accept a declared validator or a plain one-argument function."""
    if isinstance(candidate, Validator):
        return candidate
    if callable(candidate):
        return Check(candidate)
    raise TypeError(f"{command}: validator for {argument!r} is not callable: {candidate!r}")


def in_range(low: float, high: float) -> InRange:
    return InRange(low, high)


def choices(*values: Any) -> Choices:
    return Choices(tuple(values))


def one_of(values: Iterable[Any]) -> Choices:
    return Choices(tuple(values))


def matches(pattern: str) -> Matches:
    return Matches(pattern)


def max_length(length: int) -> MaxLength:
    return MaxLength(length)


def unit(symbol: str) -> Unit:
    return Unit(symbol)


def plain_text(length: int = 200) -> PlainText:
    return PlainText(length)
