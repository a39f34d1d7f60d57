"""Exceptions of the scenarios service.

``ScenarioError`` is the one root; through a proxy each arrives as the
``RemoteError`` subclass named after the class below.
"""

from __future__ import annotations


class ScenarioError(Exception):
    """Root of every error raised by ``controlroom.services.scenarios``."""


class RulesError(ScenarioError, ValueError):
    """The ``scenarios`` section of a Setup is malformed; the message names every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class UnknownRule(ScenarioError, LookupError):
    """No rule of the current Setup has that name."""


class ConditionError(ScenarioError, ValueError):
    """One problem with one rule; the message starts with the key at fault."""


class TargetError(ConditionError):
    """A rule's ``run`` names nothing runnable, or a package the Settings do not allow."""
