"""The FEE's pulses and RMAP writes as register-map changes: window, apply, flags, num_cycles."""

from __future__ import annotations

import pytest

from controlroom.devices.camera.cycle import SyncTiming, count_cycle
from controlroom.devices.camera.geometry import Readout, Side
from controlroom.devices.camera.modes import ErrorFlag, FeeMode, PixelSource, pulse_content
from controlroom.devices.camera.registers import RegisterMap, encode_word
from controlroom.devices.camera.sequencer import (
    PulsePlan,
    WriteOutcome,
    command_write,
    error_flags,
    start_pulse,
)

TIMING = SyncTiming(speed=50.0)


@pytest.fixture
def regs() -> RegisterMap:
    return RegisterMap.load()


def _mode_word(regs: RegisterMap, mode: FeeMode) -> bytes:
    """The operation word (0x0008) with a new mode, as the DPU builds it from its mirror."""
    word = regs.word(0x0008, pending=True)
    field = regs.field("ccd_mode_config")
    return encode_word((word & ~field.mask) | (int(mode) << field.offset))


def _in_window(n: int) -> float:
    return TIMING.window_opens(n) + TIMING.command_window / 2


def _pulse(regs: RegisterMap, n: int) -> PulsePlan:
    return start_pulse(regs, TIMING.pulse(n))


def test_each_mode_sends_hk_and_only_image_modes_send_pixels() -> None:
    for mode in FeeMode:
        assert pulse_content(mode, 1).housekeeping
        assert not pulse_content(mode, 0).sends_data
    assert pulse_content(FeeMode.FULL_IMAGE, 1).pixels is PixelSource.IMAGE
    assert pulse_content(FeeMode.FULL_IMAGE_PATTERN, 1).pixels is PixelSource.PATTERN
    senders = {mode for mode in FeeMode if pulse_content(mode, 1).sends_data}
    assert senders == {FeeMode.FULL_IMAGE, FeeMode.FULL_IMAGE_PATTERN}


def test_a_write_inside_the_window_is_accepted_and_waits_for_the_long_pulse(
    regs: RegisterMap,
) -> None:
    _pulse(regs, 0)
    outcome = command_write(regs, TIMING, _in_window(1), 0x0008, _mode_word(regs, FeeMode.STANDBY))
    assert outcome is WriteOutcome.ACCEPTED
    for n in (1, 2, 3):  # short pulses do not load the register map
        assert _pulse(regs, n).mode is FeeMode.ON
    assert _pulse(regs, 4).mode is FeeMode.STANDBY
    assert regs.get("op_mode") == FeeMode.STANDBY
    assert error_flags(regs) == ErrorFlag(0)


@pytest.mark.parametrize("offset", [0.0, 0.01, 0.5])
def test_a_write_outside_the_window_is_refused_and_flagged(
    regs: RegisterMap, offset: float
) -> None:
    pending = regs.snapshot(pending=True)
    t = TIMING.pulse(2).start_s + offset * TIMING.period
    outcome = command_write(regs, TIMING, t, 0x0008, _mode_word(regs, FeeMode.FULL_IMAGE))
    assert outcome is WriteOutcome.OUTSIDE_WINDOW
    assert ErrorFlag.COMMAND_OUTSIDE_WINDOW in error_flags(regs)
    assert regs.snapshot(pending=True)[:0x100] == pending[:0x100]


def test_writes_to_housekeeping_or_nowhere_are_refused(regs: RegisterMap) -> None:
    t = _in_window(0)
    assert command_write(regs, TIMING, t, 0x0704, b"\0\0\0\0") is WriteOutcome.READ_ONLY
    assert error_flags(regs) == ErrorFlag.WRITE_TO_READ_ONLY
    assert command_write(regs, TIMING, t, 0x0400, b"\0\0\0\0") is WriteOutcome.INVALID_ADDRESS
    assert command_write(regs, TIMING, t, 0x0000, b"\0\0") is WriteOutcome.INVALID_ADDRESS


def test_every_pulse_updates_the_housekeeping(regs: RegisterMap) -> None:
    for n in (0, 1, 2, 3, 4, 63, 64, 65537):
        plan = _pulse(regs, n)
        assert regs.get("frame_counter") == n % 65536 == plan.frame_counter
        assert regs.get("timecode") == n % 64
        assert regs.get("frame_number") == n % 4


def test_full_image_reads_one_ccd_per_pulse_in_the_readout_order(regs: RegisterMap) -> None:
    regs.set("ccd_mode_config", FeeMode.FULL_IMAGE)
    regs.set("ccd_readout_order", 0b01001110)
    regs.set("v_end", 99)
    regs.set("sensor_sel", 2)
    plans = [_pulse(regs, n) for n in range(8)]
    assert [p.ccd for p in plans] == [3, 4, 1, 2, 3, 4, 1, 2]
    assert all(p.content.pixels is PixelSource.IMAGE for p in plans)
    assert all(p.readout == Readout(v_end=99, sides=(Side.F,)) for p in plans)


def test_digitise_off_sends_no_data(regs: RegisterMap) -> None:
    regs.set("ccd_mode_config", FeeMode.FULL_IMAGE)
    regs.set("digitise_en", 0)
    plan = _pulse(regs, 0)
    assert plan.mode is FeeMode.FULL_IMAGE and plan.readout is None
    assert not plan.content.sends_data


def test_clear_error_flag_acts_on_the_next_pulse_and_clears_itself(regs: RegisterMap) -> None:
    command_write(regs, TIMING, 0.0, 0x0008, _mode_word(regs, FeeMode.ON))  # refused: flagged
    assert error_flags(regs) == ErrorFlag.COMMAND_OUTSIDE_WINDOW
    regs.set("clear_error_flag", 1)
    _pulse(regs, 1)  # a short pulse is enough
    assert error_flags(regs) == ErrorFlag(0)
    assert regs.get("clear_error_flag", pending=True) == 0
    _pulse(regs, 4)
    assert regs.get("clear_error_flag") == 0


def test_an_unknown_mode_keeps_the_running_mode_and_is_flagged(regs: RegisterMap) -> None:
    regs.set("ccd_mode_config", FeeMode.STANDBY)
    assert _pulse(regs, 0).mode is FeeMode.STANDBY
    regs.set("ccd_mode_config", 3)
    plan = _pulse(regs, 4)
    assert plan.mode is FeeMode.STANDBY and regs.get("op_mode") == FeeMode.STANDBY
    assert ErrorFlag.INVALID_MODE in error_flags(regs)


def test_an_impossible_readout_sends_nothing_and_is_flagged(regs: RegisterMap) -> None:
    regs.set("ccd_mode_config", FeeMode.FULL_IMAGE)
    regs.set("v_end", 5000)
    plan = _pulse(regs, 0)
    assert plan.readout is None and not plan.content.sends_data
    assert ErrorFlag.INVALID_READOUT in error_flags(regs)


def test_num_cycles_gives_that_many_cycles_of_images_then_dump(regs: RegisterMap) -> None:
    """The DPU commands FULL_IMAGE with num_cycles=2 in the window of pulse 1."""
    num_cycles, data_pulses, modes = 0, [], []
    command_write(regs, TIMING, _in_window(1), 0x0008, _mode_word(regs, FeeMode.FULL_IMAGE))
    num_cycles = 2
    for n in range(2, 20):
        plan = _pulse(regs, n)
        modes.append(plan.mode)
        if plan.content.sends_data:
            data_pulses.append(n)
        if plan.pulse.position == 0:
            num_cycles, go_to_dump = count_cycle(num_cycles)
            if go_to_dump:
                word = _mode_word(regs, FeeMode.DUMP)
                assert command_write(regs, TIMING, _in_window(n), 0x0008, word).name == "ACCEPTED"
    assert data_pulses == [4, 5, 6, 7, 8, 9, 10, 11]
    assert modes[-1] is FeeMode.DUMP and modes.count(FeeMode.FULL_IMAGE) == 8
    assert num_cycles == -1
