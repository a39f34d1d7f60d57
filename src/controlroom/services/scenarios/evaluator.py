"""Deciding when rules fire: hold timers, cooldowns, one run at a time per rule.

The evaluator is told every HK sample and event the service receives and
answers with the rules to fire now (:class:`Trigger`). It does no I/O and
reads time only from its ``clock`` (monotonic seconds), so tests step time.

An HK rule fires once its condition has held, sample after sample, for
``for_s`` seconds (measured on the clock when samples arrive: a condition is
checked when a sample comes, never in between). A sample where it does not
hold restarts the hold, and so does a gap of more than :data:`STALE_S`
between two samples: nothing says it held meanwhile. A rule fires once per
holding period: the condition must break before it fires again. An event rule
fires at each matching event. Either kind waits ``cooldown_s`` after its last
firing, and a rule whose previous firing still runs is not started again (an
HK rule then fires at the first sample after that run ended, if its condition
still holds).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controlroom.services.scenarios.conditions import EventCondition, HkCondition
from controlroom.services.scenarios.errors import UnknownRule
from controlroom.services.scenarios.rules import Rule

STALE_S = 60.0  # a longer silence between two samples restarts a hold

Clock = Callable[[], float]


@dataclass(frozen=True)
class Trigger:
    """A rule to fire now, and what made it fire."""

    rule: Rule
    server: str
    value: Any  # the HK value, or the event's data


@dataclass
class RuleState:
    """Where one rule stands; kept across reloads that keep its name."""

    held_since: float | None = None
    last_sample: float | None = None
    latched: bool = False  # fired during the current holding period
    last_fired: float | None = None  # on the clock
    running: bool = False
    firings: int = 0
    failures: int = 0
    skipped: int = 0  # matches not fired: cooling down or still running
    last_outcome: str | None = None
    last_error: str | None = None
    last_value: Any = None

    def reset_hold(self) -> None:
        self.held_since, self.latched = None, False


@dataclass
class Entry:
    rule: Rule
    state: RuleState = field(default_factory=RuleState)


_NOT_FIRED = object()  # what a rule's value is when the rule does not fire
FiredBy = Callable[[Entry, str, Mapping[str, Any], float], Any]
"""What fires a rule of one kind: (entry, server, values, now) -> the value, or _NOT_FIRED."""


class Evaluator:
    """The rules in force, their states, and the operator's enable/disable by name."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[str, Entry] = {}
        self._overrides: dict[str, bool] = {}  # the operator's, kept across reloads
        self._lock = threading.Lock()

    def replace(self, rules: Iterable[Rule]) -> None:
        """Put ``rules`` in force; a rule whose name and condition stay keeps its hold."""
        with self._lock:
            old, self._entries = self._entries, {}
            for rule in rules:
                entry = Entry(rule)
                if rule.name in old:
                    entry.state = old[rule.name].state
                    if old[rule.name].rule.when != rule.when:
                        entry.state.reset_hold()
                self._entries[rule.name] = entry

    def names(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def set_enabled(self, name: str, enabled: bool) -> None:
        with self._lock:
            entry = self._entry(name)
            self._overrides[name] = enabled
            entry.state.reset_hold()

    def observe_hk(self, server: str, values: Mapping[str, Any]) -> list[Trigger]:
        """The rules a housekeeping sample of ``server`` fires."""
        return self._observe(server, values, self._hk_fired)

    def observe_event(self, server: str, values: Mapping[str, Any]) -> list[Trigger]:
        """The rules an event published by ``server`` fires (``values["event"]``: its name)."""
        return self._observe(server, values, self._event_fired)

    def _observe(self, server: str, values: Mapping[str, Any], fired_by: FiredBy) -> list[Trigger]:
        """Every rule ``fired_by`` says fires now, started with the value that fired it."""
        now, fired = self.clock(), []
        with self._lock:
            for entry in self._entries.values():
                value = fired_by(entry, server, values, now)
                if value is not _NOT_FIRED:
                    fired.append(self._start(entry, server, value, now))
        return fired

    def _hk_fired(self, entry: Entry, server: str, values: Mapping[str, Any], now: float) -> Any:
        when = entry.rule.when
        if not isinstance(when, HkCondition) or not when.applies(server, values):
            return _NOT_FIRED
        value = values[when.hk]
        return value if self._hk_fires(entry, when, value, now) else _NOT_FIRED

    def _event_fired(self, entry: Entry, server: str, values: Mapping[str, Any], now: float) -> Any:
        when = entry.rule.when
        if not isinstance(when, EventCondition) or not when.matches(server, values):
            return _NOT_FIRED
        return dict(values) if self._enabled(entry) and self._free(entry, now) else _NOT_FIRED

    def _hk_fires(self, entry: Entry, when: HkCondition, value: Any, now: float) -> bool:
        state = entry.state
        state.last_value = value
        stale = state.last_sample is not None and now - state.last_sample > STALE_S
        state.last_sample = now
        if not self._enabled(entry) or not when.holds(value):
            state.reset_hold()
            return False
        if state.held_since is None or stale:
            state.held_since, state.latched = now, False
        if state.latched or now - state.held_since < when.for_s:
            return False
        return self._free(entry, now)

    def _free(self, entry: Entry, now: float) -> bool:
        """Not cooling down, not running; counted as skipped when it is."""
        state = entry.state
        cooling = state.last_fired is not None and now - state.last_fired < entry.rule.cooldown_s
        if cooling or state.running:
            state.skipped += 1
            return False
        return True

    def _start(self, entry: Entry, server: str, value: Any, now: float) -> Trigger:
        state = entry.state
        state.running, state.latched, state.last_fired = True, True, now
        state.firings += 1
        return Trigger(entry.rule, server, value)

    def finished(self, name: str, error: str | None) -> None:
        """The firing of ``name`` ended (``error``: why it failed, None when it did not)."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return  # reloaded away meanwhile
            state = entry.state
            state.running = False
            state.last_outcome = "ok" if error is None else "error"
            state.last_error = error
            state.failures += error is not None

    def describe(self) -> list[dict[str, Any]]:
        """Every rule: what it is, whether enabled, where its hold and counters stand."""
        now = self.clock()
        with self._lock:
            return [self._describe(entry, now) for entry in self._entries.values()]

    def _describe(self, entry: Entry, now: float) -> dict[str, Any]:
        state = entry.state
        held = None if state.held_since is None else now - state.held_since
        return {
            **entry.rule.describe(),
            "enabled": self._enabled(entry),
            "held_s": held,
            "running": state.running,
            "firings": state.firings,
            "failures": state.failures,
            "skipped": state.skipped,
            "last_outcome": state.last_outcome,
            "last_error": state.last_error,
            "last_value": state.last_value,
        }

    def _enabled(self, entry: Entry) -> bool:
        return self._overrides.get(entry.rule.name, entry.rule.enabled)

    def _entry(self, name: str) -> Entry:
        found = self._entries.get(name)
        if found is None:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UnknownRule(f"no rule {name!r} in the current Setup (rules: {known})")
        return found
