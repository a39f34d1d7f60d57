"""The FEE simulator process, driven over SpaceWireOverZeroMQ as the DPU drives it.

Real processes on a free port (or ipc in the test's directory), stopped by
their handles. Writes are placed in the command window from the time the
timecode arrived, as the DPU does; nothing sleeps.
"""

from __future__ import annotations

import itertools
import json
import signal
from pathlib import Path

import numpy as np
import pytest
import yaml
from fee_dpu import READY_S, Dpu, ReceivedPulse, fee_process, hk_field

from controlroom.device.spacewire import (
    HousekeepingPacket,
    RmapError,
    SpaceWireOverZeroMQ,
    Status,
)
from controlroom.devices.camera.cycle import SyncTiming
from controlroom.devices.camera.geometry import IMAGE_COLUMNS, Readout, Side
from controlroom.devices.camera.images import pixel_checksum, synthetic_image
from controlroom.devices.camera.modes import ErrorFlag, FeeMode
from controlroom.devices.camera.registers import RegisterMap, encode_word
from controlroom.devices.camera.sim.pace import ReadoutPace
from controlroom.rpc.child import Child, module_argv

pytestmark = pytest.mark.integration

SEED = 7
# The partial readout: 2200 rows of side F, 10 MB a pulse in 4 KiB packets: more packets
# than the link queues, so a DPU that stops reading leaves the FEE blocked.
ROWS, COLS = range(100, 2300), range(IMAGE_COLUMNS)
OVERSCAN = range(IMAGE_COLUMNS, IMAGE_COLUMNS + 15)


def _stopped(child: Child) -> dict[str, dict[str, int]]:
    """SIGTERM, then the counters the simulator prints as it exits (exit code 0)."""
    child.signal(signal.SIGTERM)
    line = child.read_ready(lambda s: s[8:] if s.startswith("STOPPED ") else None, READY_S)
    assert line is not None, f"no STOPPED line; stderr: {child.stderr_tail()}"
    assert child.process.wait(READY_S) == 0
    return dict(json.loads(line))


def _partial_readout() -> RegisterMap:
    """The DPU's copy of the map with FULL_IMAGE and a partial readout of side F."""
    regs = RegisterMap.load()
    values = {"v_start": ROWS.start, "v_end": ROWS.stop - 1, "h_end": COLS.stop - 1}
    values |= {"packet_size": 4096, "sensor_sel": 2, "ccd_mode_config": int(FeeMode.FULL_IMAGE)}
    for name, value in values.items():
        regs.set(name, value)
    return regs


def _check_readout(pulse: ReceivedPulse) -> None:
    frame, ccd = pulse.hk.frame_counter, pulse.timecode % 4 + 1  # CCDs 1, 2, 3, 4 in turn
    assert {(p.ccd, p.side, p.frame_counter) for p in pulse.data} == {(ccd, "F", frame)}
    sequence = [p.sequence_counter for p in pulse.data]
    assert sequence == list(range(pulse.hk.sequence_counter + 1, sequence[-1] + 1))
    assert [p.last for p in pulse.data].count(True) == 1
    assert max(len(p.payload) for p in pulse.data) == 4096  # the packet size written
    for kind, cols in (("data", COLS), ("overscan", OVERSCAN)):
        got = pulse.pixels("F", kind, (len(ROWS), len(cols)))
        expected = synthetic_image(SEED, frame, ccd, Side.F, ROWS, cols)
        assert pixel_checksum(got) == pixel_checksum(expected)
        assert np.array_equal(got, expected)


def test_the_fee_streams_takes_commands_in_the_window_and_refuses_others(tmp_path: Path) -> None:
    timing = SyncTiming(speed=5.0)
    with fee_process(f"ipc://{tmp_path}/fee", tmp_path / "fee.log", speed=5.0, seed=SEED) as (
        child,
        endpoint,
    ):
        with SpaceWireOverZeroMQ(endpoint, bind=False) as link:
            link.configure()
            dpu = Dpu(link, timing)
            pulse = dpu.pulse(*dpu.next_timecode())
            while pulse.timecode % 4 != 2:  # the third pulse of a cycle
                following = dpu.pulse()
                assert following.timecode == (pulse.timecode + 1) % 64
                assert following.hk.frame_counter == pulse.hk.frame_counter + 1
                pulse = following
            assert hk_field(pulse.hk, "frame_number") == 2
            dpu.wait_for_window(pulse)
            regs = _partial_readout()
            for address in (0x0, 0x4, 0x8):
                link.write_register(address, encode_word(regs.word(address, pending=True)))
            assert link.read_memory_map(0x0, 12) == regs.read(0x0, 12, pending=True)

            short = dpu.pulse()  # the last short pulse of the cycle: nothing loaded yet
            assert short.hk.mode == FeeMode.ON and not short.data
            long = dpu.pulse()  # the long pulse loads the map: the partial readout of CCD 1
            assert hk_field(long.hk, "op_mode") == FeeMode.FULL_IMAGE
            _check_readout(long)
            # The rows leave at the CCD's pace, not in one burst: the last packet cannot come
            # before its due time (a busy machine only delays it; half the span is left for
            # this reader seeing the timecode late).
            readout = Readout.from_registers(regs, pending=True)
            span = ReadoutPace.of(readout, timing, 0.0, burst=False).span
            assert long.arrivals[-1] - long.received_s >= 0.5 * span
            assert hk_field(long.hk, "error_flags") == 0

            timecode, received_s = dpu.next_timecode()  # the readout phase: no window
            with pytest.raises(RmapError) as refused:
                link.write_register(0x8, encode_word(regs.word(0x8, pending=True)))
            assert refused.value.status == Status.NOT_IMPLEMENTED_OR_NOT_AUTHORISED
            flags = int.from_bytes(link.read_register(0x704), "big") >> 16
            assert flags == ErrorFlag.COMMAND_OUTSIDE_WINDOW
            dpu.pulse(timecode, received_s)
            assert hk_field(dpu.pulse().hk, "error_flags") == ErrorFlag.COMMAND_OUTSIDE_WINDOW
            dpu.next_timecode()  # the DPU stops here, leaving a readout on its way
        with SpaceWireOverZeroMQ(endpoint, bind=False) as link:  # the DPU restarted
            link.configure()
            dpu = Dpu(link, timing)
            first = dpu.pulse(*dpu.next_timecode())
            following = dpu.pulse()
            assert following.timecode == (first.timecode + 1) % 64
            _check_readout(following)
        counters = _stopped(child)
    assert counters["commands"]["writes"] == 3
    assert counters["commands"]["refused"] == 1


def test_timecodes_wrap_garbage_is_counted_and_a_new_dpu_gets_the_stream(tmp_path: Path) -> None:
    speed = 50.0  # 125 ms periods: past timecode 63 within 9 s
    with fee_process("tcp://127.0.0.1:0", tmp_path / "fee.log", speed=speed, seed=SEED) as (
        child,
        endpoint,
    ):
        with SpaceWireOverZeroMQ(endpoint, bind=False) as link:
            link.configure()
            dpu = Dpu(link, SyncTiming(speed=speed))
            timecodes = [dpu.pulse(*dpu.next_timecode()).timecode]
            link.write_packet(b"\x51\x77 not a packet of any protocol")
            link.write_packet(HousekeepingPacket(0, 0, b"").encode())  # good, but no command
            while len(timecodes) < 70:
                pulse = dpu.pulse()
                timecodes.append(pulse.timecode)
            steps = [(b - a) % 64 for a, b in itertools.pairwise(timecodes)]
            assert all(step >= 1 for step in steps)  # onwards, never repeated
            assert any(b < a for a, b in itertools.pairwise(timecodes))  # past 63, back to 0
            assert hk_field(pulse.hk, "error_flags") == ErrorFlag.LINK_ERROR
        with SpaceWireOverZeroMQ(endpoint, bind=False) as link:  # a DPU restarted, when idle
            link.configure()
            dpu = Dpu(link, SyncTiming(speed=speed))
            first = dpu.pulse(*dpu.next_timecode())
            assert dpu.pulse().timecode == (first.timecode + 1) % 64
        counters = _stopped(child)
    # One step each, unless the simulator was starved of CPU and missed a pulse: it says so.
    assert sum(step - 1 for step in steps) <= counters["pulses"]["missed"]
    assert counters["link"]["corrupt"] == 1 and counters["commands"]["corrupt"] == 1
    assert counters["commands"]["not_commands"] == 1


def test_controlroom_sim_start_fee_runs_it_without_a_device_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tmp_path / "local-settings.yaml"
    settings.write_text(yaml.safe_dump({"runtime": {"state_dir": str(tmp_path / "state")}}))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(settings))
    argv = module_argv(
        "controlroom.cli.main", "sim", "start", "fee", "--port", "0", "--speed", "50"
    )
    child = Child.spawn("sim start fee", argv, log_path=tmp_path / "cli.log")
    try:
        said = child.wait_ready(
            lambda line: line if "listening on tcp://" in line else None, READY_S
        )
        endpoint = said.split("listening on ")[1].split(";")[0]
        with SpaceWireOverZeroMQ(endpoint, bind=False) as link:
            link.configure()
            dpu = Dpu(link, SyncTiming(speed=50.0))
            first = dpu.pulse(*dpu.next_timecode())
            assert dpu.pulse().timecode == (first.timecode + 1) % 64
        child.signal(signal.SIGINT)
        assert child.process.wait(READY_S) == 0
    finally:
        child.stop()
