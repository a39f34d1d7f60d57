"""The FEE simulator's readout packets: laid out in place, the same bytes as encoded one by one."""

from __future__ import annotations

import numpy as np
import pytest

from controlroom.device.spacewire import DataPacket
from controlroom.devices.camera.cycle import SyncTiming
from controlroom.devices.camera.geometry import packet_pixels
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.registers import RegisterMap
from controlroom.devices.camera.sequencer import PulsePlan, start_pulse
from controlroom.devices.camera.sim import PacketMaker, PixelPipeline, lay_out, part_pixels, pixels
from controlroom.devices.camera.sim.fee import upcoming_pulse
from controlroom.devices.camera.sim.payloads import SparePayloads
from controlroom.devices.camera.sim.pixels import plan_parts

SEED = 3


def _plan(packet_size: int) -> PulsePlan:
    """A long pulse in FULL_IMAGE reading rows 100-139, columns 0-99 of both sides."""
    registers = RegisterMap.load()
    values = {"v_start": 100, "v_end": 139, "h_end": 99, "packet_size": packet_size}
    for name, value in (values | {"ccd_mode_config": int(FeeMode.FULL_IMAGE)}).items():
        registers.set(name, value)
    return start_pulse(registers, SyncTiming().pulse(4))


def _encoded_one_by_one(plan: PulsePlan, first_sequence: int) -> list[bytes]:
    """The readout's packets the slow way: each built from its pixels and encoded."""
    assert plan.readout is not None
    pixels = {(p.side, p.kind): part_pixels(SEED, p) for p in plan_parts(plan)}
    return [
        DataPacket.from_pixels(
            packet_pixels(pixels[piece.side, piece.kind], piece),
            frame_counter=plan.frame_counter, sequence_counter=first_sequence + index,
            ccd=plan.ccd, side="E" if piece.side == "E" else "F", kind=piece.kind,
            last=piece.last, mode=int(plan.mode),
        ).encode()
        for index, piece in enumerate(plan.readout.packets())
    ]  # fmt: skip


@pytest.mark.parametrize("packet_size", [1000, 2000, 8000, 32768])
def test_laid_out_packets_are_the_packets_encoded_one_by_one(packet_size: int) -> None:
    # 1000 bytes: data 8 packets, overscan 1 and a short one; 8000: one packet a part.
    plan = _plan(packet_size)
    maker = PacketMaker()
    maker.housekeeping(plan, b"")  # the readout's numbers follow the HK packet's
    laid = lambda part: lay_out(part_pixels(SEED, part), packet_size)  # noqa: E731
    sent = [bytes(packet) for packet in maker.readout(plan, laid)]
    assert sent == _encoded_one_by_one(plan, first_sequence=1)
    assert maker.sequence == 1 + len(sent)


def test_a_layout_leaves_room_for_each_header_before_its_payload() -> None:
    pixels = np.arange(7, dtype=np.uint16).reshape(1, 7)
    laid = lay_out(pixels, packet_size=6)  # 3 pixels a packet: 3 + 3 + 1
    assert laid.stride == 10 + 6 and len(laid.buffer) == 2 * 16 + 10 + 2
    payloads = [laid.buffer[start + 10 : start + 16] for start in (0, 16)]
    assert payloads == [bytes.fromhex("0000 0001 0002"), bytes.fromhex("0003 0004 0005")]
    assert laid.buffer[42:] == bytes.fromhex("0006")
    assert laid.buffer[:10] == bytes(10)  # the header's room, written as the packet goes


def test_the_pipeline_gives_the_same_packets_predicted_or_not() -> None:
    plan = _plan(4096)
    parts = plan_parts(plan)
    pipeline = PixelPipeline(SEED)
    try:
        pipeline.prepare(parts[:2])  # predicted: computed ahead
        pipeline.prepare(parts, current=True)
        assert (pipeline.hits, pipeline.misses) == (2, 2)
        for part in parts:
            expected = lay_out(part_pixels(SEED, part), 4096)
            assert pipeline.take(part) == expected
        unprepared = pipeline.take(parts[0])  # taken already: computed on the spot
        assert unprepared == lay_out(part_pixels(SEED, parts[0]), 4096)
    finally:
        pipeline.close()


@pytest.mark.parametrize(
    ("now", "upcoming"),
    [
        (0.03, 8),  # within pulse 7's period: pulse 8 comes next
        (0.07, 8),  # pulse 8 is late, but its period is still running: it is sent
        (0.11, 9),  # pulse 8's period has passed: it is missed
        (0.18, 10),  # a readout ran past 8 and 9
    ],
)
def test_after_a_late_readout_the_next_pulse_is_the_first_still_running(
    now: float, upcoming: int
) -> None:
    # Pulse 7 was due at 0; pulse n is due at 0.05 * (n - 7).
    assert upcoming_pulse(7, started_at=0.0, period=0.05, now=now) == upcoming


@pytest.mark.parametrize("block_pixels", [1, 7, 250, 1 << 18])
def test_a_part_laid_out_in_row_blocks_is_the_part_laid_out_whole(
    block_pixels: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 100 columns: blocks of 1 row (1 and 7 pixels), of 2 rows, and the whole part;
    # 1000-byte packets hold 500 pixels, so blocks begin and end inside packets.
    monkeypatch.setattr(pixels, "BLOCK_PIXELS", block_pixels)
    for part in plan_parts(_plan(1000)):
        assert pixels.lay_out_part(SEED, part) == lay_out(part_pixels(SEED, part), 1000)


def test_a_reused_buffer_gives_the_same_packets_as_a_new_one() -> None:
    part = plan_parts(_plan(1000))[0]
    expected = lay_out(part_pixels(SEED, part), 1000)
    used = bytearray(b"\xa5" * len(expected.buffer))  # what a sent part left in it
    laid = pixels.lay_out_part(SEED, part, used)
    assert laid.buffer is used
    payloads = lambda b: [b[s + 10 : s + laid.stride] for s in range(0, len(b), laid.stride)]  # noqa: E731
    assert payloads(laid.buffer) == payloads(expected.buffer)


def test_the_pipeline_reuses_a_part_buffer_only_once_its_packets_were_sent() -> None:
    parts = plan_parts(_plan(4096))  # E data, E overscan, F data, F overscan
    later = [part._replace(frame=part.frame + 1) for part in parts]
    pipeline = PixelPipeline(SEED)
    try:
        pipeline.prepare(parts, current=True)
        sending = pipeline.take(parts[0])
        before = bytes(sending.buffer)
        pipeline.prepare(later)  # computed while parts[0] is being sent
        for part in later:
            assert pipeline._ahead[part].result().buffer is not sending.buffer
        assert sending.buffer == before
        pipeline.take(parts[1])  # parts[0] was sent: its buffer is spare
        assert pipeline.take(parts[0]._replace(frame=9)).buffer is sending.buffer
    finally:
        pipeline.close()


def test_spare_payloads_keep_the_newest_and_give_one_of_the_size_asked() -> None:
    spare = SparePayloads(keep=2)
    small, big, other = bytearray(4), bytearray(8), bytearray(8)
    for buffer in (small, big, other, other):  # the same buffer twice is kept once
        spare.give_back(buffer)
    assert spare.take(4) is None  # the oldest went
    assert spare.take(8) is big and spare.take(8) is other and spare.take(8) is None
