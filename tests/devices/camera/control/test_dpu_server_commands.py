"""The DPU control server against the FEE simulator: reads, commands in the window, images, HK.

One FEE simulator and one served DpuController (with its DPU processor) serve
the tests of this module. Each test sets what it relies on (mode, readout,
obsid) itself, under an obsid of its own, so none depends on another.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
from dpu_server import (
    SMALL,
    WAIT_S,
    Camera,
    assert_pixel_exact,
    camera_server,
    geometry,
    image_frames,
    last_file,
    set_registers_at_once,
    whole_image_frames,
)

from controlroom.device import ArgumentError
from controlroom.devices.camera.dpu.publishing import DpuMonitoring
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.storage import FrameFileReader
from controlroom.rpc import RemoteError
from controlroom.telemetry import TelemetryPipeline, shipped_dictionary, split_sample
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

SMALL_WRITES = [(name, value) for name, value in geometry(SMALL).items()] + [("digitise_en", 1)]
WRAP = 1 << 16


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Camera]:
    with camera_server(tmp_path_factory.mktemp("dpu-server")) as served:
        yield served


def test_status_and_reads_are_answered_from_the_processor(camera: Camera) -> None:
    status = camera.status()
    assert status["processor_up"] and status["processor_restarts"] == 0
    assert status["processor_state"] == "running" and status["processor_last_exit"] is None
    cmdline = psutil.Process(status["processor_pid"]).cmdline()
    assert "controlroom.devices.camera.dpu.process" in cmdline
    assert status["synced"] and status["mode"] in FeeMode.__members__
    assert isinstance(status["error_flags"], int) and isinstance(status["error_flag_names"], list)
    with camera.proxy() as proxy:
        assert wait_until(lambda: proxy.get_status() is not None, WAIT_S)
        published = proxy.get_status()["values"]
        assert published["processor_pid"] == status["processor_pid"]
        assert proxy.get_mode() in FeeMode.__members__
        first = proxy.get_frame_counter()
        assert wait_until(lambda: proxy.get_frame_counter() != first, WAIT_S)  # the FEE runs
        assert isinstance(proxy.get_num_cycles(), int)
        assert proxy.get_register("int_sync_period") == 6250
        mode = proxy.get_mode()
        assert proxy.get_register("op_mode") == FeeMode[mode] or proxy.get_mode() != mode
        flags = proxy.get_error_flags()
        assert set(flags) == {"value", "names"} and isinstance(flags["value"], int)


def test_set_mode_full_image_returns_within_a_cycle_and_frames_are_stored_pixel_exact(
    camera: Camera,
) -> None:
    with camera.proxy() as proxy:
        proxy.set_obsid("OBS_MODE")
        replies = set_registers_at_once(camera, SMALL_WRITES)
        assert all(reply["status"] == 0 for reply in replies)
        before = proxy.get_frame_counter()
        record = proxy.set_mode("FULL_IMAGE")
        assert (record["register"], record["value"], record["status"]) == (
            "ccd_mode_config", int(FeeMode.FULL_IMAGE), 0,
        )  # fmt: skip
        assert (record["frame_counter"] - before) % WRAP < 4  # sent within one cycle
        frames = image_frames(camera.root, "OBS_MODE", 4)
        assert wait_until(lambda: proxy.get_mode() == "FULL_IMAGE", WAIT_S)
    for frame in frames:
        assert frame.obsid == "OBS_MODE"
        assert_pixel_exact(frame, SMALL)


def test_full_image_with_num_cycles_gives_that_many_cycles_then_dump(camera: Camera) -> None:
    with camera.proxy() as proxy:
        assert proxy.set_mode("STANDBY")["status"] == 0
        assert wait_until(lambda: proxy.get_mode() == "STANDBY", WAIT_S)
        proxy.set_obsid("OBS_CYCLES")
        records = proxy.full_image(2, **geometry(SMALL))
        registers = [name for name, _ in SMALL_WRITES] + ["ccd_mode_config"]
        assert [r["register"] for r in records] == registers
        assert all(r["status"] == 0 and r["error"] == "" for r in records)
        assert wait_until(lambda: proxy.get_mode() == "DUMP", WAIT_S)
        assert proxy.get_num_cycles() <= 0
        dumping = proxy.get_frame_counter()
    path = last_file(camera.root, "OBS_CYCLES")
    assert path is not None
    assert wait_until(lambda: _written_up_to(path, dumping), WAIT_S)  # the writer caught up
    frames = whole_image_frames(path)
    counters = [frame.frame_counter for frame in frames]
    assert len(frames) == 8, counters  # two cycles of four pulses, then no more images
    assert counters == list(range(counters[0], counters[0] + 8))
    assert [c % 4 for c in counters] == [0, 1, 2, 3] * 2  # each cycle from its long pulse
    for frame in frames:
        assert_pixel_exact(frame, SMALL)


def _written_up_to(path: Path, frame_counter: int) -> bool:
    with FrameFileReader(path) as reader:
        return any(e.frame_counter >= frame_counter and e.written for e in reader.entries())


def test_ten_clients_writes_go_out_in_one_window_each_with_its_own_record(
    camera: Camera,
) -> None:
    writes = [
        *SMALL_WRITES,
        ("packet_size", 32768),
        ("sync_sel", 0),
        ("int_sync_period", 6250),
        ("ccd_readout_order", 228),
        ("clear_error_flag", 0),
    ]
    assert len(writes) == 10
    with DpuMonitoring(camera.status()["processor_publish"]) as monitoring:
        assert monitoring.wait_for_timecode(WAIT_S) is not None  # the window is far ahead
        replies = set_registers_at_once(camera, writes)
    for (name, value), reply in zip(writes, replies, strict=True):
        assert (reply["register"], reply["value"], reply["status"]) == (name, value, 0)
    assert len({reply["frame_counter"] for reply in replies}) == 1, replies


def test_latest_image_is_the_block_mean_of_the_stored_frame(camera: Camera) -> None:
    with camera.proxy() as proxy:
        proxy.set_obsid("OBS_IMAGE")
        proxy.full_image(0, **geometry(SMALL))
        image_frames(camera.root, "OBS_IMAGE", 4)  # a whole cycle: every CCD has an image
        small = proxy.latest_image(2, "F", 16)
        full = proxy.latest_image(2, "F", 2048)
    assert (small["ccd"], small["side"], small["obsid"]) == (2, "F", "OBS_IMAGE")
    assert small["source_shape"] == [SMALL.v_end - SMALL.v_start + 1, SMALL.h_end + 1]
    assert (small["binning"], small["shape"]) == (7, [10, 15])  # ceil(100 / 16) = 7
    stored = _stored_pixels(camera.root, small["frame_counter"])
    pixels = np.frombuffer(small["pixels"], "<u2").reshape(small["shape"])
    assert np.array_equal(pixels, _block_means(stored, 7))
    assert (small["min"], small["max"]) == (int(pixels.min()), int(pixels.max()))
    assert (full["binning"], full["shape"]) == (1, full["source_shape"])
    exact = np.frombuffer(full["pixels"], "<u2").reshape(full["shape"])
    assert np.array_equal(exact, _stored_pixels(camera.root, full["frame_counter"]))


def _stored_pixels(root: Path, frame_counter: int) -> np.ndarray:
    path = last_file(root, "OBS_IMAGE")
    assert path is not None
    with FrameFileReader(path) as reader:
        [entry] = [e for e in reader.entries() if e.frame_counter == frame_counter]
        frame = reader.read(entry.position)
    assert_pixel_exact(frame, SMALL)  # the simulator's synthetic image, as stored
    return frame.images[2, "F"]


def _block_means(pixels: np.ndarray, size: int) -> np.ndarray:
    """Each size x size block's mean, one block at a time (edge blocks: what they hold)."""
    rows, cols = pixels.shape
    out = np.zeros((-(-rows // size), -(-cols // size)), dtype=np.uint16)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            block = pixels[i * size : (i + 1) * size, j * size : (j + 1) * size]
            out[i, j] = np.rint(block.astype(np.float64).mean())
    return out


@pytest.mark.parametrize(
    ("command", "args", "kwargs", "message", "by_proxy"),
    [
        ("set_register", ["nope", 1], {}, "'nope' is not one of", True),
        ("set_register", ["op_mode", 1], {}, "'op_mode' is not one of", True),  # read-only
        ("set_register", ["h_end", 5000], {}, "register 'h_end' holds 0..4095, not 5000", False),
        ("set_register", ["v_end", -1], {}, "outside the range", True),
        ("set_mode", ["WARP"], {}, "'WARP' is not one of", True),
        ("get_register", ["nope"], {}, "'nope' is not one of", True),
        ("full_image", [0], {"v_start": 200, "v_end": 100}, "v_start 200 is after v_end", False),
        ("latest_image", [5, "E"], {}, "outside the range", True),
        ("latest_image", [1, "G"], {}, "'G' is not one of", True),
        ("latest_image", [1, "E", 8], {}, "outside the range", True),
        ("set_obsid", ["../x"], {}, "obsid '../x'", True),
        ("set_num_cycles", [-1], {}, "outside the range", True),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message_and_the_server_goes_on(
    camera: Camera,
    command: str,
    args: list[object],
    kwargs: dict[str, object],
    message: str,
    by_proxy: bool,
) -> None:
    with camera.proxy() as proxy:
        if by_proxy:  # the proxy checks what the declaration says before sending
            with pytest.raises(ArgumentError, match=message):
                getattr(proxy, command)(*args, **kwargs)
        with pytest.raises(RemoteError, match=message):  # the server checks everything
            proxy.request(command, args, kwargs)
        assert isinstance(proxy.get_num_cycles(), int)


def test_housekeeping_names_are_those_the_telemetry_dictionary_knows(camera: Camera) -> None:
    dictionary = shipped_dictionary()
    hk = camera.controller.housekeeping()
    assert set(hk) == {p.original for p in dictionary.parameters("DPU")}
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in hk.values())
    pipeline = TelemetryPipeline(dictionary, "DPU", "LAB")
    values = split_sample(pipeline("dpu", 1.0, hk)).values
    assert not pipeline.unknown and set(values) == set(dictionary.names("DPU"))
    assert values["DPU_CCD1_TEMP"] == pytest.approx(hk["ccd1_temp"] * 0.01)  # 0.01 K units
    assert values["DPU_PROCESSOR_UP"] == 1
