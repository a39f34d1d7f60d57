"""The processor's mirror follows the FEE model pulse by pulse, and counts num_cycles."""

from __future__ import annotations

import pytest

from controlroom.device.spacewire import HousekeepingPacket
from controlroom.devices.camera.cycle import SyncTiming
from controlroom.devices.camera.dpu import DpuError, DpuState, MirrorOutOfStep, SetRegister
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.registers import RegisterMap
from controlroom.devices.camera.sequencer import WriteOutcome, command_write, start_pulse

TIMING = SyncTiming()


class Pair:
    """A FEE (the model) and a DPU state that sees only its housekeeping packets."""

    def __init__(self) -> None:
        self.fee = RegisterMap.load()
        self.dpu = DpuState()

    def pulse(self, number: int, *, seen: bool = True) -> FeeMode:
        plan = start_pulse(self.fee, TIMING.pulse(number))
        if seen:
            hk = self.fee.read_area("housekeeping")
            self.dpu.on_housekeeping(HousekeepingPacket(plan.frame_counter, number, hk))
        return plan.mode

    def command(self, number: int, command: SetRegister) -> None:
        """The DPU sends ``command`` in the window of pulse ``number`` and the FEE takes it."""
        address, word = self.dpu.command_word(command)
        t = TIMING.window_opens(number) + 0.1
        outcome = command_write(self.fee, TIMING, t, address, word.to_bytes(4, "big"))
        assert outcome is WriteOutcome.ACCEPTED
        self.dpu.on_write_accepted(address, word)

    def in_step(self) -> bool:
        both = (False, True)
        return all(
            self.fee.snapshot(pending=p) == self.dpu.registers.snapshot(pending=p) for p in both
        )


def test_the_mirror_loads_commands_on_the_long_pulse_as_the_fee_does() -> None:
    pair = Pair()
    pair.pulse(0)
    pair.command(1, SetRegister("ccd_mode_config", int(FeeMode.STANDBY)))
    pair.command(1, SetRegister("digitise_en", 0))  # the same word: the two compose
    assert pair.in_step() and pair.dpu.registers.pending_changes
    for n in (2, 3):
        pair.pulse(n)
        assert pair.dpu.registers.get("ccd_mode_config") == FeeMode.ON
    pair.pulse(4)
    assert pair.in_step() and pair.dpu.mode is FeeMode.STANDBY
    assert pair.dpu.registers.get("digitise_en") == 0 and not pair.dpu.registers.pending_changes


def test_a_missed_long_pulse_is_caught_up() -> None:
    pair = Pair()
    pair.pulse(2)
    pair.command(2, SetRegister("ccd_mode_config", int(FeeMode.STANDBY)))
    pair.pulse(3)
    pair.pulse(4, seen=False)  # its timecode or housekeeping was lost
    pair.pulse(5)
    assert pair.in_step() and pair.dpu.mode is FeeMode.STANDBY and pair.dpu.frame_counter == 5


@pytest.mark.parametrize("set_on_pulse", [0, 1, 3])
def test_num_cycles_counts_image_cycles_wherever_it_was_set(set_on_pulse: int) -> None:
    pair = Pair()
    modes, dumps = [], []
    for n in range(20):
        modes.append(pair.pulse(n))
        if n == set_on_pulse:
            pair.dpu.num_cycles = 2
            pair.command(n, SetRegister("ccd_mode_config", int(FeeMode.FULL_IMAGE)))
        if pair.dpu.dump_due:  # what the loop does in the command window
            dumps.append(n)
            pair.command(n, SetRegister("ccd_mode_config", int(FeeMode.DUMP)))
            pair.dpu.dump_due = False
    assert modes[4:12] == [FeeMode.FULL_IMAGE] * 8 and modes[12:] == [FeeMode.DUMP] * 8
    assert dumps == [8] and pair.dpu.num_cycles == -1


def test_zero_num_cycles_changes_nothing() -> None:
    pair = Pair()
    pair.dpu.num_cycles = 0
    pair.pulse(0)
    pair.command(0, SetRegister("ccd_mode_config", int(FeeMode.FULL_IMAGE)))
    modes = [pair.pulse(n) for n in range(1, 13)]
    assert modes[3:] == [FeeMode.FULL_IMAGE] * 9 and not pair.dpu.dump_due
    assert pair.dpu.num_cycles == -1


def test_a_fee_running_otherwise_than_mirrored_asks_for_a_resync() -> None:
    pair = Pair()
    pair.dpu.synced = True
    pair.fee.set("ccd_mode_config", int(FeeMode.STANDBY))  # changed behind the DPU's back
    with pytest.raises(MirrorOutOfStep, match="runs STANDBY, the mirror expected ON"):
        pair.pulse(0)
    assert not pair.dpu.synced
    pair.dpu.on_config_read(pair.fee.read(0, 0x100, pending=True))
    pair.pulse(1)
    assert pair.dpu.synced and pair.dpu.mode is FeeMode.STANDBY


def test_a_short_housekeeping_packet_is_refused_by_name() -> None:
    with pytest.raises(DpuError, match="16 bytes has no 'board_temp'"):
        DpuState().decode_housekeeping(bytes(16))


def test_an_internal_period_too_short_for_a_window_falls_back_to_external_timing() -> None:
    state = DpuState()
    state.registers.set("sync_sel", 1)
    state.registers.set("int_sync_period", 1000)
    state.registers.apply()
    assert state.timing.period_s == 6.25
    state.registers.set("int_sync_period", 8000)
    state.registers.apply()
    assert state.timing.period_s == 8.0
