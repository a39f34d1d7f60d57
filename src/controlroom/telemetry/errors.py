"""Exceptions of the telemetry dictionary and the housekeeping pipeline.

``TelemetryError`` is the one root. A dictionary that fails validation raises
one :class:`DictionaryError` carrying *every* problem found, each with the
file, the line and the column, so a spreadsheet can be fixed in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class TelemetryError(Exception):
    """Root of every error raised by ``controlroom.telemetry``."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dictionary file, and where."""

    path: str
    line: int | None  # 1-based line of the file; None for the file as a whole
    column: str | None  # the column header as written in the file
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return (
            f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


class DictionaryError(TelemetryError, ValueError):
    """A telemetry dictionary cannot be read or is invalid; lists every problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        path = self.problems[0].path if self.problems else "?"
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"telemetry dictionary {path}: {count} {noun}\n{lines}")


class UnknownParameter(TelemetryError, LookupError):
    """No parameter of that name (or original name) is in the dictionary."""


class UnknownOrigin(TelemetryError, LookupError):
    """No parameter in the dictionary is stored under that origin."""


class UnknownSite(TelemetryError, LookupError):
    """The dictionary has synoptics but no column for that site."""
