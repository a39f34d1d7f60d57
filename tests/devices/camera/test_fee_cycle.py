"""The sync cycle over time: pulse kinds, timecodes, the command window, speed, num_cycles."""

from __future__ import annotations

import math

import pytest

from controlroom.devices.camera.cycle import (
    CycleCount,
    PulseKind,
    SyncTiming,
    count_cycle,
    readout_ccd,
)
from controlroom.devices.camera.errors import TimingError
from controlroom.devices.camera.registers import RegisterMap


@pytest.mark.parametrize(
    ("t", "number", "kind", "timecode", "window"),
    [
        (0.0, 0, PulseKind.LONG, 0, False),
        (3.999, 0, PulseKind.LONG, 0, False),
        (4.0, 0, PulseKind.LONG, 0, True),
        (6.249, 0, PulseKind.LONG, 0, True),
        (6.25, 1, PulseKind.SHORT, 1, False),
        (10.25, 1, PulseKind.SHORT, 1, True),
        (18.75, 3, PulseKind.SHORT, 3, False),
        (24.99, 3, PulseKind.SHORT, 3, True),
        (25.0, 4, PulseKind.LONG, 4, False),
        (63 * 6.25 + 5, 63, PulseKind.SHORT, 63, True),
        (64 * 6.25, 64, PulseKind.LONG, 0, False),
        (65 * 6.25 + 1, 65, PulseKind.SHORT, 1, False),
    ],
)
def test_real_time_pulses(
    t: float, number: int, kind: PulseKind, timecode: int, window: bool
) -> None:
    timing = SyncTiming()
    pulse = timing.pulse_at(t)
    assert (pulse.number, pulse.kind, pulse.timecode) == (number, kind, timecode)
    assert timing.window_open(t) is window


@pytest.mark.parametrize("speed", [1.0, 2.5, 10.0, 37.0, 1000.0])
def test_speed_scales_every_duration(speed: float) -> None:
    timing = SyncTiming(speed=speed)
    assert timing.period == pytest.approx(6.25 / speed)
    assert timing.cycle == pytest.approx(25.0 / speed)
    assert timing.command_window == pytest.approx(2.25 / speed)
    assert timing.pulse(0).width_s == pytest.approx(0.4 / speed)
    assert timing.pulse(1).width_s == pytest.approx(0.2 / speed)
    for n in (1, 2, 3, 4, 7, 63, 64, 999, 12345):
        start = n * timing.period
        assert timing.pulse_at(start).number == n
        assert timing.pulse_at(start).start_s == pytest.approx(start)
        assert not timing.window_open(start)
        assert not timing.window_open(timing.window_opens(n) - 0.01 / speed)
        assert timing.window_open(timing.window_opens(n))
        assert timing.window_open(start + timing.period * 0.999)
        assert timing.next_pulse(start + 0.5 * timing.period).number == n + 1


def test_a_time_a_microsecond_before_a_pulse_stays_in_the_previous_period() -> None:
    timing = SyncTiming(speed=10.0)
    assert timing.pulse_at(3 * 0.625 - 1e-6).number == 2
    assert timing.window_open(3 * 0.625 - 1e-6)
    assert timing.pulse_at(3 * 0.625).number == 3


def test_the_window_is_at_least_two_seconds_of_every_period() -> None:
    assert SyncTiming().command_window == pytest.approx(2.25)
    assert SyncTiming(period_s=10.0).command_window == pytest.approx(6.0)
    with pytest.raises(TimingError, match=r"less than 2\.0 s for commands"):
        SyncTiming(period_s=5.0)


@pytest.mark.parametrize(
    "kwargs",
    [{"speed": 0.0}, {"speed": -1.0}, {"speed": math.nan}, {"period_s": math.inf}],
)
def test_bad_timing_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(TimingError, match="finite and positive"):
        SyncTiming(**kwargs)


def test_times_before_pulse_zero_are_refused() -> None:
    with pytest.raises(TimingError, match="before pulse 0"):
        SyncTiming().pulse_at(-0.1)
    with pytest.raises(TimingError, match="pulse numbers start at 0"):
        SyncTiming().pulse(-1)


def test_timing_from_the_register_map() -> None:
    regs = RegisterMap.load()
    assert SyncTiming.from_registers(regs, speed=4.0) == SyncTiming(speed=4.0)
    regs.set("sync_sel", 1)
    regs.set("int_sync_period", 10000)
    regs.apply()
    assert SyncTiming.from_registers(regs).period == pytest.approx(10.0)
    regs.set("int_sync_period", 5000)
    regs.apply()
    with pytest.raises(TimingError, match=r"period 5\.0 s"):
        SyncTiming.from_registers(regs)


def test_the_readout_order_picks_one_ccd_per_pulse() -> None:
    assert [readout_ccd(0b11100100, p) for p in range(4)] == [1, 2, 3, 4]
    assert [readout_ccd(0b01001110, p) for p in range(4)] == [3, 4, 1, 2]
    assert [readout_ccd(0, p) for p in range(4)] == [1, 1, 1, 1]
    with pytest.raises(TimingError, match="position 4"):
        readout_ccd(228, 4)


def _run(num_cycles: int, long_pulses: int) -> tuple[list[int], list[int]]:
    """The counter after each long pulse and the long pulses that asked for DUMP."""
    counts, dumps = [], []
    for index in range(long_pulses):
        num_cycles, go_to_dump = count_cycle(num_cycles)
        counts.append(num_cycles)
        if go_to_dump:
            dumps.append(index)
    return counts, dumps


def test_num_cycles_counts_down_to_one_dump() -> None:
    assert _run(3, 6) == ([2, 1, 0, -1, -1, -1], [2])
    assert _run(1, 3) == ([0, -1, -1], [0])


def test_num_cycles_zero_or_negative_leaves_the_mode_alone() -> None:
    assert _run(0, 4) == ([-1, -1, -1, -1], [])
    assert _run(-1, 4) == ([-1, -1, -1, -1], [])
    assert _run(-50, 2) == ([-1, -1], [])
    assert count_cycle(2) == CycleCount(1, go_to_dump=False)
