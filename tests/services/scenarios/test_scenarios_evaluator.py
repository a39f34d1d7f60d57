"""Hold timers, cooldowns and the one-run-at-a-time rule, on a clock the test steps."""

from __future__ import annotations

from typing import Any

import pytest

from controlroom.services.scenarios.errors import UnknownRule
from controlroom.services.scenarios.evaluator import STALE_S, Evaluator
from controlroom.services.scenarios.rules import Rule, parse_rules

ALLOWED = ("scenario_actions",)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def step(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def rules(**section: dict[str, Any]) -> list[Rule]:
    entries = {name: {"run": "scenario_actions:record", **entry} for name, entry in section.items()}
    return parse_rules({"scenarios": entries}, ALLOWED)


def evaluator_with(clock: Clock, **section: dict[str, Any]) -> Evaluator:
    evaluator = Evaluator(clock)
    evaluator.replace(rules(**section))
    return evaluator


def hk(evaluator: Evaluator, value: Any, server: str = "tempctl") -> list[str]:
    """The rules a sample of TEMP fires (each marked finished at once)."""
    fired = [t.rule.name for t in evaluator.observe_hk(server, {"TEMP": value, "OTHER": 1})]
    for name in fired:
        evaluator.finished(name, None)
    return fired


HOT = {"when": {"hk": "TEMP", "above": 300.0, "for_s": 60}}


def test_fires_only_once_the_condition_held_for_for_s(clock: Clock) -> None:
    evaluator = evaluator_with(clock, hot=HOT)
    assert hk(evaluator, 301.0) == []  # the hold starts
    clock.step(59.9)
    assert hk(evaluator, 302.0) == []
    clock.step(0.1)
    assert hk(evaluator, 303.0) == ["hot"]
    [state] = evaluator.describe()
    assert (state["firings"], state["last_value"], state["last_outcome"]) == (1, 303.0, "ok")


def test_a_break_restarts_the_hold(clock: Clock) -> None:
    evaluator = evaluator_with(clock, hot=HOT)
    hk(evaluator, 301.0)
    clock.step(50)
    assert hk(evaluator, 299.0) == []  # not above: the hold is gone
    assert evaluator.describe()[0]["held_s"] is None
    clock.step(5)
    assert hk(evaluator, 301.0) == []  # held again from here
    clock.step(59)
    assert hk(evaluator, 301.0) == []
    clock.step(1)
    assert hk(evaluator, 301.0) == ["hot"]


def test_once_per_holding_period(clock: Clock) -> None:
    evaluator = evaluator_with(clock, hot=HOT)
    hk(evaluator, 301.0)
    clock.step(60)
    assert hk(evaluator, 301.0) == ["hot"]
    for _ in range(5):
        clock.step(60)
        assert hk(evaluator, 301.0) == []  # still hot: it already fired for this hold
    hk(evaluator, 290.0)
    hk(evaluator, 301.0)
    clock.step(60)
    assert hk(evaluator, 301.0) == ["hot"]


def feed(evaluator: Evaluator, clock: Clock, seconds: float, value: Any) -> list[str]:
    """A sample of ``value`` every 10 s for ``seconds``: the rules fired meanwhile."""
    fired: list[str] = []
    for _ in range(int(seconds // 10)):
        clock.step(10)
        fired += hk(evaluator, value)
    return fired


def test_cooldown_delays_the_next_firing(clock: Clock) -> None:
    evaluator = evaluator_with(clock, hot={**HOT, "cooldown_s": 600})
    hk(evaluator, 301.0)
    assert feed(evaluator, clock, 60, 301.0) == ["hot"]
    hk(evaluator, 290.0)  # breaks, then holds again within the cooldown
    hk(evaluator, 301.0)
    assert feed(evaluator, clock, 590, 301.0) == []  # 590 s after the firing
    assert evaluator.describe()[0]["skipped"] == 54  # from 60 s of the new hold on
    assert feed(evaluator, clock, 10, 301.0) == ["hot"]


def test_a_zero_hold_fires_on_the_first_sample(clock: Clock) -> None:
    evaluator = evaluator_with(clock, cold={"when": {"hk": "TEMP", "below": 10}})
    assert hk(evaluator, 5) == ["cold"]


@pytest.mark.parametrize(
    ("when", "value", "fires"),
    [
        ({"equals": "FAULT"}, "FAULT", True),
        ({"equals": "FAULT"}, "OK", False),
        ({"equals": True}, True, True),
        ({"between": [1, 2]}, 2, True),
        ({"between": [1, 2]}, 2.5, False),
        ({"above": 1}, "high", False),  # text never passes a numeric test
        ({"below": 1}, None, False),
    ],
)
def test_tests(clock: Clock, when: dict[str, Any], value: Any, fires: bool) -> None:
    evaluator = evaluator_with(clock, r={"when": {"hk": "TEMP", **when}})
    assert hk(evaluator, value) == (["r"] if fires else [])


def test_samples_without_the_parameter_or_from_another_server_leave_the_hold(clock: Clock) -> None:
    evaluator = evaluator_with(clock, hot={"when": {**HOT["when"], "server": "tempctl"}})
    hk(evaluator, 301.0)
    clock.step(30)
    assert evaluator.observe_hk("tempctl", {"OTHER": 5}) == []
    assert hk(evaluator, 100.0, server="elsewhere") == []  # not its server: ignored
    clock.step(30)
    assert hk(evaluator, 301.0) == ["hot"]


def test_a_long_silence_restarts_the_hold(clock: Clock) -> None:
    evaluator = evaluator_with(clock, hot=HOT)
    hk(evaluator, 301.0)
    clock.step(STALE_S + 1)  # the server went quiet: nothing says it stayed hot
    assert hk(evaluator, 301.0) == []
    clock.step(60)
    assert hk(evaluator, 301.0) == ["hot"]


def test_a_running_rule_is_not_started_again(clock: Clock) -> None:
    evaluator = evaluator_with(clock, cold={"when": {"hk": "TEMP", "below": 10}})
    assert [t.rule.name for t in evaluator.observe_hk("x", {"TEMP": 5})] == ["cold"]
    evaluator.observe_hk("x", {"TEMP": 20})  # breaks and holds again while it runs
    assert evaluator.observe_hk("x", {"TEMP": 5}) == []
    assert evaluator.describe()[0]["running"] is True
    evaluator.finished("cold", "RuntimeError: boom")
    assert [t.rule.name for t in evaluator.observe_hk("x", {"TEMP": 5})] == ["cold"]
    state = evaluator.describe()[0]
    assert (state["failures"], state["last_error"], state["skipped"]) == (
        1,
        "RuntimeError: boom",
        1,
    )


def test_event_rules(clock: Clock) -> None:
    evaluator = evaluator_with(
        clock,
        interlock={"when": {"event": "interlock_open", "server": "ogse"}, "cooldown_s": 10},
        limit={"when": {"event": "limit", "match": {"name": "TEMP"}}},
    )

    def event(server: str, **values: Any) -> list[str]:
        fired = evaluator.observe_event(server, values)
        for trigger in fired:
            evaluator.finished(trigger.rule.name, None)
        return [t.rule.name for t in fired]

    assert event("ogse", event="interlock_open", state="open") == ["interlock"]
    assert event("psu", event="interlock_open") == []  # another server
    assert event("ogse", event="interlock_closed") == []
    clock.step(5)
    assert event("ogse", event="interlock_open") == []  # cooling down
    clock.step(5)
    assert event("ogse", event="interlock_open") == ["interlock"]
    assert event("tempctl", event="limit", name="TEMP", level="op_high") == ["limit"]
    assert event("tempctl", event="limit", name="PRESSURE") == []
    clock.step(10)
    trigger = evaluator.observe_event("ogse", {"event": "interlock_open", "state": "open"})[0]
    assert (trigger.server, trigger.value) == ("ogse", {"event": "interlock_open", "state": "open"})


def test_disable_and_enable(clock: Clock) -> None:
    evaluator = evaluator_with(clock, hot=HOT, idle={**HOT, "enabled": False})
    hk(evaluator, 301.0)
    evaluator.set_enabled("hot", False)
    clock.step(60)
    assert hk(evaluator, 301.0) == []
    evaluator.set_enabled("hot", True)
    evaluator.set_enabled("idle", True)
    hk(evaluator, 301.0)
    clock.step(60)
    assert sorted(hk(evaluator, 301.0)) == ["hot", "idle"]
    with pytest.raises(UnknownRule, match=r"no rule 'nope'.*rules: hot, idle"):
        evaluator.set_enabled("nope", True)


def test_a_reload_keeps_holds_counters_and_the_operators_choice(clock: Clock) -> None:
    evaluator = evaluator_with(clock, hot=HOT, other={**HOT, "cooldown_s": 5})
    evaluator.set_enabled("other", False)
    hk(evaluator, 301.0)
    clock.step(60)
    assert hk(evaluator, 301.0) == ["hot"]
    hk(evaluator, 290.0)
    hk(evaluator, 301.0)
    clock.step(30)
    changed = {"when": {"hk": "TEMP", "above": 250.0, "for_s": 60}}
    evaluator.replace(rules(hot=HOT, other={**HOT, "cooldown_s": 9}, new=changed))
    described = {r["name"]: r for r in evaluator.describe()}
    assert described["hot"]["firings"] == 1
    assert described["hot"]["held_s"] == 30.0  # same condition: the hold goes on
    assert described["other"]["enabled"] is False
    clock.step(30)
    assert hk(evaluator, 301.0) == ["hot"]
    evaluator.replace(rules(hot={"when": {"hk": "TEMP", "above": 299.0, "for_s": 60}}))
    assert evaluator.describe()[0]["held_s"] is None  # a new condition starts over
