"""The two-wheel attenuator model: levels, closest factor, move times."""

from __future__ import annotations

import itertools

import pytest

from controlroom.devices.ogse.attenuator import (
    MAX_LEVEL,
    POSITIONS_BY_LEVEL,
    SETTLE_TIME_S,
    STEP_TIME_S,
    FilterWheels,
    factor_of,
    level_closest_to_factor,
    level_of,
    move_time_s,
)


def test_47_levels_each_reachable_and_every_combination_is_a_level() -> None:
    assert MAX_LEVEL == 46 and len(POSITIONS_BY_LEVEL) == 47
    assert all(level_of(POSITIONS_BY_LEVEL[i]) == i for i in range(47))
    combos = {level_of(p) for p in itertools.product(range(1, 9), repeat=2)}
    assert combos == set(range(47))
    assert factor_of(0) == 1.0 and factor_of(20) == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("factor", "level"), [(1.0, 0), (0.5, 3), (0.01, 20), (1e-9, 46), (0.0, 46), (0.95, 0)]
)
def test_the_closest_level_to_a_factor(factor: float, level: int) -> None:
    assert level_closest_to_factor(factor) == level


def test_wheels_turn_the_short_way_round_and_both_at_once() -> None:
    assert move_time_s((1, 1), (1, 1)) == 0.0
    assert move_time_s((1, 1), (8, 1)) == STEP_TIME_S + SETTLE_TIME_S  # 8 is next to 1
    assert move_time_s((1, 1), (5, 3)) == 4 * STEP_TIME_S + SETTLE_TIME_S


def test_light_keeps_the_old_transmission_until_the_move_ends() -> None:
    wheels = FilterWheels()
    wheels.move_to_level(20, now=10.0)
    assert wheels.level == 20 and wheels.is_moving(10.5)
    assert wheels.transmission(10.5) == 1.0
    assert wheels.transmission(20.0) == pytest.approx(0.01)
    with pytest.raises(ValueError, match=r"1\.\.8"):
        wheels.move_to((0, 9), now=20.0)
