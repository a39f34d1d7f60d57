"""The ``scenarios`` section: parsing, every fault named, allowed packages only."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import scenario_actions

from controlroom.services.scenarios.conditions import EventCondition, HkCondition
from controlroom.services.scenarios.errors import RulesError, ScenarioError
from controlroom.services.scenarios.rules import DEMO_TASKS, parse_rules
from controlroom.services.setupdriven import allowed_packages

ALLOWED = ("scenario_actions", "controlroom.obs.demo_tasks")
HOT = {"hk": "TEMPCTL_TEMP_A", "above": 300.0, "for_s": 60}


def parse(section: Any) -> list[Any]:
    return parse_rules({"scenarios": section}, ALLOWED)


def refusal(section: Any) -> str:
    with pytest.raises(RulesError) as caught:
        parse(section)
    assert isinstance(caught.value, ScenarioError)
    return str(caught.value)


def test_a_full_section_parses() -> None:
    rules = parse(
        {
            "cool_down_when_hot": {
                "when": HOT,
                "run": "controlroom.obs.demo_tasks:set_temperature",
                "args": {"kelvin": 80.0},
                "cooldown_s": 600,
            },
            "on_interlock": {
                "when": {"event": "interlock_open", "server": "ogse"},
                "run": "scenario_actions:record",
                "args": {"label": "interlock"},
                "observation": "Interlock opened",
                "enabled": False,
            },
            "in_band": {
                "when": {"hk": "DUMMY_TEMP", "between": [15, 25], "server": "dummy"},
                "run": "scenario_actions:cool_down",
            },
        }
    )
    hot, interlock, band = rules
    assert hot.when == HkCondition("TEMPCTL_TEMP_A", "above", 300.0, 60.0)
    assert (hot.args, hot.cooldown_s, hot.enabled, hot.observation) == (
        {"kelvin": 80.0},
        600,
        True,
        None,
    )
    assert interlock.when == EventCondition("interlock_open", "ogse")
    assert interlock.target is scenario_actions.record
    assert (interlock.observation, interlock.enabled) == ("Interlock opened", False)
    assert band.when.describe() == {
        "hk": "DUMMY_TEMP",
        "between": [15.0, 25.0],
        "for_s": 0.0,
        "server": "dummy",
    }
    assert band.target is scenario_actions.cool_down
    assert hot.when.text() == "TEMPCTL_TEMP_A above 300.0 for 60 s"


def test_no_section_means_no_rules() -> None:
    assert parse_rules({"devices": {}}, ALLOWED) == []
    assert parse_rules(None, ALLOWED) == []


def test_every_fault_is_named_by_rule_and_key() -> None:
    message = refusal(
        {
            "typo": {"when": HOT, "run": "scenario_actions:record", "cooldown": 5},
            "bad_threshold": {
                "when": {"hk": "X", "above": "hot"},
                "run": "scenario_actions:record",
            },
            "two_tests": {
                "when": {"hk": "X", "above": 1, "below": 2},
                "run": "scenario_actions:record",
            },
            "no_run": {"when": HOT},
            "missing": {"when": HOT, "run": "scenario_actions:no_such_function"},
            "negative": {"when": {**HOT, "for_s": -1}, "run": "scenario_actions:record"},
            "cooling": {"when": HOT, "run": "scenario_actions:record", "cooldown_s": -5},
            "band": {"when": {"hk": "X", "between": [5, 1]}, "run": "scenario_actions:record"},
            "both": {
                "when": {"hk": "X", "event": "y", "above": 1},
                "run": "scenario_actions:record",
            },
            "wrong_arg": {"when": HOT, "run": "scenario_actions:record", "args": {"colour": 1}},
            "not_a_rule": "run it",
        }
    )
    assert "scenarios.typo.cooldown: unknown key(s) ['cooldown']" in message
    assert "scenarios.bad_threshold.when.above: must be a finite number, not 'hot'" in message
    assert "scenarios.two_tests.when: give exactly one of above, below, equals, between" in message
    assert "scenarios.no_run.run: must be a non-empty string, not None" in message
    assert "scenarios.missing.run: cannot import 'scenario_actions:no_such_function'" in message
    assert "scenarios.negative.when.for_s: must be 0 or more seconds" in message
    assert "scenarios.cooling.cooldown_s: must be 0 or more seconds" in message
    assert "scenarios.band.when.between: low 5.0 is above high 1.0" in message
    assert "scenarios.both.when: give exactly one of hk:" in message
    assert "scenarios.wrong_arg.args:" in message
    assert "scenarios.not_a_rule: expected a mapping" in message
    assert len(message.split("; ")) == 11


@pytest.mark.parametrize(
    ("when", "fault"),
    [
        ({"hk": "X", "above": True}, "when.above: must be a finite number"),
        ({"hk": "X", "below": float("nan")}, "when.below: must be a finite number"),
        ({"hk": "X", "equals": [1]}, "when.equals: must be a number, text or true/false"),
        ({"hk": "X", "between": [1]}, "when.between: must be two numbers"),
        ({"hk": "", "above": 1}, "when.hk: must be a non-empty name"),
        ({"hk": "X", "above": 1, "for": 3}, "when: unknown key(s) ['for']"),
        ({"event": "x", "match": ["a"]}, "when.match: must map"),
        ({"event": "x", "for_s": 3}, "when: unknown key(s) ['for_s']"),
        ("always", "when: expected a mapping"),
    ],
)
def test_bad_conditions(when: Any, fault: str) -> None:
    assert f"scenarios.r.{fault}" in refusal(
        {"r": {"when": when, "run": "scenario_actions:record"}}
    )


def test_a_section_that_is_not_a_mapping_is_refused() -> None:
    assert "scenarios: must map rule names to rules, not list" in refusal(["a"])


def test_a_module_outside_the_allowed_packages_is_refused_before_it_is_imported() -> None:
    message = refusal({"evil": {"when": HOT, "run": "controlroom_not_allowed_pkg.tools:wipe"}})
    assert (
        "scenarios.evil.run: 'controlroom_not_allowed_pkg.tools' is not in an allowed package"
        in message
    )
    assert "controlroom_not_allowed_pkg" not in sys.modules
    assert "os" not in ALLOWED  # nor any module of the standard library
    assert "is not in an allowed package" in refusal({"r": {"when": HOT, "run": "os:system"}})


@pytest.mark.parametrize(
    ("run", "fault"),
    [
        ("scenario_actions", "is not of the form package.module:function"),
        ("scenario_actions:_obsid", "is private"),
        ("scenario_actions:NOT_CALLABLE", "is not a function"),
    ],
)
def test_what_cannot_run_is_refused(run: str, fault: str) -> None:
    assert fault in refusal({"r": {"when": HOT, "run": run}})


@pytest.mark.parametrize("name", ["current_observation", "task", "threading.Event"])
def test_a_function_the_actions_module_only_imported_is_refused(name: str) -> None:
    # scenario_actions imports these; it does not define them.
    message = refusal({"r": {"when": HOT, "run": f"scenario_actions:{name}"}})
    assert "scenarios.r.run:" in message
    assert "is not defined in an allowed package" in message


def test_allowed_packages_come_from_the_settings_and_include_the_demo_tasks() -> None:
    settings = {
        "security": {"allowed_packages": ["controlroom.devices"]},
        "services": {"scenarios": {"allowed_packages": ["mylab"]}},
    }
    assert allowed_packages(settings, "scenarios", DEMO_TASKS) == (
        "controlroom.devices",
        "mylab",
        "controlroom.obs.demo_tasks",
    )
