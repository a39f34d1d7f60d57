"""CCD geometry: partial readout sizes, packet slicing that reassembles exactly, bytes per frame."""

from __future__ import annotations

import numpy as np
import pytest

from controlroom.devices.camera.errors import ReadoutError
from controlroom.devices.camera.geometry import (
    COLUMNS,
    FULL_FRAME,
    IMAGE_COLUMNS,
    ROWS,
    Readout,
    Side,
    frame_bytes,
    packet_pixels,
    pixel_slices,
    reassemble,
    sides_from_sensor_sel,
)
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.registers import RegisterMap


def _side_arrays(readout: Readout, seed: int) -> dict[tuple[str, Side], np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {}
    for side in readout.sides:
        arrays["data", side] = rng.integers(0, 65536, readout.data_shape, dtype=np.uint16)
        arrays["overscan", side] = rng.integers(0, 65536, readout.overscan_shape, dtype=np.uint16)
    return arrays


def test_the_full_frame_grid() -> None:
    assert (ROWS, COLUMNS) == (4540, 2270)
    assert FULL_FRAME.data_shape == (4540, 2255)
    assert FULL_FRAME.overscan_shape == (4540, 15)
    assert FULL_FRAME.pixel_bytes == 4540 * 2270 * 2 * 2


def test_partial_readout_sizes_follow_the_registers() -> None:
    regs = RegisterMap.load()
    for name, value in (("v_start", 100), ("v_end", 299), ("h_end", 511), ("sensor_sel", 2)):
        regs.set(name, value)
    assert Readout.from_registers(regs) == FULL_FRAME  # not applied yet
    readout = Readout.from_registers(regs, pending=True)
    assert readout.rows == range(100, 300)
    assert readout.columns == range(512)
    assert readout.overscan_columns == range(IMAGE_COLUMNS, COLUMNS)
    assert readout.data_shape == (200, 512)
    assert readout.sides == (Side.F,)
    assert readout.pixel_bytes == 200 * (512 + 15) * 2


def test_sensor_sel_selects_sides() -> None:
    assert sides_from_sensor_sel(1) == (Side.E,)
    assert sides_from_sensor_sel(2) == (Side.F,)
    assert sides_from_sensor_sel(3) == (Side.E, Side.F)
    with pytest.raises(ReadoutError, match="sensor_sel 0 selects no CCD side"):
        sides_from_sensor_sel(0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"v_start": 10, "v_end": 9}, "v_start 10 .. v_end 9"),
        ({"v_end": 4540}, "v_end 4540"),
        ({"h_end": 2255}, "h_end 2255 beyond the last image column 2254"),
        ({"sides": ()}, "selects no CCD side"),
        ({"packet_size": 1001}, "packet_size 1001 must be an even number"),
        ({"packet_size": 0}, "packet_size 0"),
    ],
)
def test_impossible_readouts_are_refused_naming_the_register(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ReadoutError, match=message):
        Readout(**kwargs)  # type: ignore[arg-type]


def test_pixel_slices_respect_the_payload_limit() -> None:
    assert pixel_slices(10, 8) == [(0, 4), (4, 8), (8, 10)]
    assert pixel_slices(8, 8) == [(0, 4), (4, 8)]
    assert pixel_slices(3, 1000) == [(0, 3)]
    with pytest.raises(ReadoutError, match="holds no pixel"):
        pixel_slices(3, 1)


@pytest.mark.parametrize(
    "readout",
    [
        Readout(v_start=0, v_end=9, h_end=99, packet_size=64),
        Readout(v_start=4500, v_end=4539, h_end=2254, sides=(Side.F,), packet_size=4002),
        Readout(v_start=7, v_end=7, h_end=0, sides=(Side.E,), packet_size=2),
    ],
)
def test_packets_reassemble_every_side_exactly(readout: Readout) -> None:
    arrays = _side_arrays(readout, seed=readout.v_start)
    received: dict[tuple[str, Side], list[np.ndarray]] = {key: [] for key in arrays}
    plan = readout.packets()
    for piece in plan:
        payload = packet_pixels(arrays[piece.kind, piece.side], piece)
        assert 0 < payload.nbytes == piece.nbytes <= readout.packet_size
        # over the wire: big-endian bytes, decoded on the other side
        wire = payload.astype(">u2").tobytes()
        received[piece.kind, piece.side].append(np.frombuffer(wire, dtype=">u2"))
    assert [p.last for p in plan] == [False] * (len(plan) - 1) + [True]
    assert len(plan) == readout.packet_count
    assert sum(p.nbytes for p in plan) == readout.pixel_bytes
    for (kind, side), parts in received.items():
        shape = readout.data_shape if kind == "data" else readout.overscan_shape
        assert np.array_equal(reassemble(shape, parts), arrays[kind, side])


def test_packets_come_side_by_side_data_before_overscan() -> None:
    # 2 rows: 2 x 10 data pixels and 2 x 15 overscan pixels per side, 10 pixels a packet
    plan = Readout(v_end=1, h_end=9, packet_size=20).packets()
    order = [(p.side, p.kind, p.start, p.stop) for p in plan]
    assert order == [
        (Side.E, "data", 0, 10),
        (Side.E, "data", 10, 20),
        (Side.E, "overscan", 0, 10),
        (Side.E, "overscan", 10, 20),
        (Side.E, "overscan", 20, 30),
        (Side.F, "data", 0, 10),
        (Side.F, "data", 10, 20),
        (Side.F, "overscan", 0, 10),
        (Side.F, "overscan", 10, 20),
        (Side.F, "overscan", 20, 30),
    ]


def test_reassembly_refuses_a_missing_packet() -> None:
    with pytest.raises(ReadoutError, match=r"6 pixels received, 2 x 4 expected"):
        reassemble((2, 4), [np.zeros(4, np.uint16), np.zeros(2, np.uint16)])


def test_frame_bytes_counts_only_modes_that_send_data() -> None:
    regs = RegisterMap.load()
    assert frame_bytes(regs) == 0  # ON
    regs.set("ccd_mode_config", int(FeeMode.FULL_IMAGE))
    regs.apply()
    assert frame_bytes(regs) == FULL_FRAME.pixel_bytes
    assert frame_bytes(regs, header_bytes=10) == FULL_FRAME.pixel_bytes + 10 * len(
        FULL_FRAME.packets()
    )
    regs.set("digitise_en", 0)
    regs.apply()
    assert frame_bytes(regs) == 0
    regs.set("digitise_en", 1)
    regs.set("v_end", 99)
    regs.set("sensor_sel", 1)
    regs.apply()
    assert frame_bytes(regs) == 100 * 2270 * 2
