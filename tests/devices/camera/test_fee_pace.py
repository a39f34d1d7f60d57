"""When the packets of a readout are due: at the CCD's pace, or all at once."""

from __future__ import annotations

import pytest

from controlroom.devices.camera.cycle import SyncTiming
from controlroom.devices.camera.geometry import FULL_FRAME, ROWS, Readout, Side
from controlroom.devices.camera.sim.pace import READOUT_SHARE, ReadoutPace

TIMING = SyncTiming(speed=2.0)  # 3.125 s periods, 2 s of readout


def test_a_full_frame_spreads_over_most_of_the_readout_phase() -> None:
    pace = ReadoutPace.of(FULL_FRAME, TIMING, 100.0, burst=False)
    assert pace.packets == FULL_FRAME.packet_count
    assert pace.due(0) == 100.0
    last = pace.due(pace.packets - 1)
    assert 100.0 + 0.8 * READOUT_SHARE * 2.0 < last < 100.0 + READOUT_SHARE * 2.0
    dues = [pace.due(k) for k in range(pace.packets)]
    assert dues == sorted(dues) and len(set(dues)) == len(dues)


def test_fewer_rows_end_earlier_and_one_side_takes_as_long_per_row() -> None:
    rows = Readout(v_start=1000, v_end=1000 + ROWS // 4 - 1)
    one_side = Readout(v_start=1000, v_end=1000 + ROWS // 4 - 1, sides=(Side.F,))
    full = ReadoutPace.of(FULL_FRAME, TIMING, 0.0, burst=False)
    quarter = ReadoutPace.of(rows, TIMING, 0.0, burst=False)
    assert quarter.span == pytest.approx(full.span / 4, rel=1e-3)
    assert ReadoutPace.of(one_side, TIMING, 0.0, burst=False).span == quarter.span


def test_a_burst_has_every_packet_due_at_the_pulse() -> None:
    pace = ReadoutPace.of(FULL_FRAME, TIMING, 7.0, burst=True)
    assert pace.span == 0.0
    assert {pace.due(k) for k in range(pace.packets)} == {7.0}


def test_faster_speeds_shrink_the_span_in_proportion() -> None:
    slow = ReadoutPace.of(FULL_FRAME, SyncTiming(speed=1.0), 0.0, burst=False)
    fast = ReadoutPace.of(FULL_FRAME, SyncTiming(speed=10.0), 0.0, burst=False)
    assert fast.span == pytest.approx(slow.span / 10)
