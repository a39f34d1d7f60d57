"""The ``scenarios`` section of a Setup: rules that run a function when a condition is met.

::

    scenarios:
      cool_down_when_hot:                                     # the rule's name
        when: {hk: TEMPCTL_TEMP_A, above: 300.0, for_s: 60}   # see .conditions
        run: controlroom.obs.demo_tasks:set_temperature       # package.module:function
        args: {kelvin: 80.0}                                  # optional: keyword arguments
        cooldown_s: 600                                       # optional: not again within
        observation: Cool down after overheating              # optional: see below
        enabled: true                                         # optional: false lists it, idle

``run`` names a building block, a task or a plain function. It is imported
only from the packages the Settings allow (``security.allowed_packages``,
``services.scenarios.allowed_packages`` and the demo tasks), never from the
Setup text or the network: the Setup only names it, and it must be defined in
one of those packages (see :mod:`controlroom.config.importing`). A building block runs
inside an observation of its own (``observation`` describes it, by default
``scenario <rule>``), so its firing fails while another observation runs; a
plain function or task runs inside one only when ``observation`` is given,
and is journaled with the obsid of the observation running when it fired.

The section is checked as a whole: one bad rule refuses the section, with a
message naming every rule and key at fault, and the service keeps the rules
it had.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controlroom.config.importing import NamedImportError, import_callable
from controlroom.services.scenarios.conditions import Condition, parse_when, seconds
from controlroom.services.scenarios.errors import ConditionError, RulesError, TargetError

SECTION = "scenarios"
DEMO_TASKS = "controlroom.obs.demo_tasks"
RULE_KEYS = frozenset({"when", "run", "args", "cooldown_s", "observation", "enabled"})


@dataclass(frozen=True)
class Rule:
    """One rule of the section, checked, with the function it runs imported."""

    name: str
    when: Condition
    run: str
    target: Callable[..., Any] = field(repr=False, compare=False)
    args: dict[str, Any] = field(default_factory=dict)
    cooldown_s: float = 0.0
    observation: str | None = None
    enabled: bool = True

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "when": self.when.describe(),
            "condition": self.when.text(),
            "run": self.run,
            "args": dict(self.args),
            "cooldown_s": self.cooldown_s,
            "observation": self.observation,
        }


def parse_rules(setup: Mapping[str, Any] | None, allowed: Iterable[str]) -> list[Rule]:
    """Every rule of ``setup`` (none without a section); :class:`RulesError` lists all faults."""
    section = (setup or {}).get(SECTION)
    if section is None:
        return []
    if not isinstance(section, Mapping):
        raise RulesError([f"{SECTION}: must map rule names to rules, not {type(section).__name__}"])
    packages = tuple(allowed)
    rules: list[Rule] = []
    problems: list[str] = []
    for name, entry in section.items():
        try:
            rules.append(parse_rule(str(name), entry, packages))
        except ConditionError as exc:
            problems.append(f"{SECTION}.{name}{'' if str(exc).startswith(':') else '.'}{exc}")
    if problems:
        raise RulesError(problems)
    return rules


def parse_rule(name: str, entry: Any, allowed: tuple[str, ...]) -> Rule:
    """One rule; a :class:`ConditionError` starts with the key at fault."""
    if not isinstance(entry, Mapping):
        raise ConditionError(f": expected a mapping with when: and run:, not {entry!r}")
    unknown = sorted(str(key) for key in entry if key not in RULE_KEYS)
    if unknown:
        raise ConditionError(f"{unknown[0]}: unknown key(s) {unknown} (known: {sorted(RULE_KEYS)})")
    if "when" not in entry:
        raise ConditionError("when: missing; say when the rule fires (hk: or event:)")
    when = parse_when(entry["when"])
    run = _text(entry.get("run"), "run")
    args = _args(entry.get("args"))
    try:
        target = import_callable(run, allowed)
    except NamedImportError as exc:
        raise TargetError(f"run: {exc}") from None
    _check_args(target, args)
    observation = entry.get("observation")
    if observation is not None:
        observation = _text(observation, "observation")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConditionError(f"enabled: must be true or false, not {enabled!r}")
    cooldown_s = seconds(entry.get("cooldown_s", 0.0), "cooldown_s")
    return Rule(name, when, run, target, args, cooldown_s, observation, enabled)


def _check_args(target: Callable[..., Any], args: dict[str, Any]) -> None:
    """Refuse arguments the function does not take; missing ones may have defaults elsewhere
    (a building block's come from the YAML file next to its module)."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # a builtin without a signature: the call will tell
        return
    try:
        signature.bind_partial(**args)
    except TypeError as exc:
        raise ConditionError(f"args: {exc}") from None


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConditionError(f"{key}: must be a non-empty string, not {value!r}")
    return value.strip()


def _args(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConditionError("args: must map argument names to values")
    return dict(value)
