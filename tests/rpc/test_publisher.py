"""The publisher's polling grid: a poll's own duration never stretches the period."""

from __future__ import annotations

import pytest

from controlroom.rpc.publisher import next_due


def test_the_next_poll_is_one_period_after_the_last_was_due_not_after_it_ended() -> None:
    # Due at 10.0, the poll took 0.3 s: the next is due at 11.0, not 11.3.
    assert next_due(10.0, 1.0, now=10.3) == pytest.approx(11.0)


def test_a_poll_that_ends_early_keeps_the_grid() -> None:
    assert next_due(10.0, 0.5, now=10.0) == pytest.approx(10.5)


def test_slots_a_long_poll_overran_are_skipped_not_made_up() -> None:
    # A poll (or a stall) of 2.5 periods: the next is the first slot still ahead.
    assert next_due(10.0, 1.0, now=12.5) == pytest.approx(13.0)


@pytest.mark.parametrize("period", [0.1, 0.3, 1.0 / 3.0, 0.7])
def test_the_next_poll_is_always_ahead_and_on_the_grid(period: float) -> None:
    due = 1_000_000.0
    for overrun in range(50):  # now exactly at a slot's edge, and in between
        now = due + overrun * period / 2
        following = next_due(due, period, now)
        slots = (following - due) / period
        assert following > now
        assert slots == pytest.approx(round(slots))
        assert following - now <= period + 1e-9


def test_many_polls_of_a_slow_device_keep_the_asked_rate() -> None:
    # Each poll takes 30 % of the period: a hundred periods still give a hundred polls.
    due, polls = 0.0, 0
    while due < 100.0:
        polls += 1
        due = next_due(due, 1.0, now=due + 0.3)
    assert polls == 100
