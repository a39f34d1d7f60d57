"""The DPU controller's parts without processes: replies, images, options, readings, names."""

from __future__ import annotations

import dataclasses
import os
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from controlroom.device import ArgumentError
from controlroom.devices.camera.control import CommandRejected, NoImage
from controlroom.devices.camera.control.fee import CONFIG_REGISTERS, Geometry, check_value
from controlroom.devices.camera.control.images import binning_for, block_mean, latest_image
from controlroom.devices.camera.control.options import DpuOptions, processor_argv
from controlroom.devices.camera.control.readings import (
    dpu_housekeeping,
    dpu_status,
    error_flag_names,
)
from controlroom.devices.camera.control.replies import checked_write, checked_writes
from controlroom.devices.camera.dpu import LoopCounters, ProcessorClosed
from controlroom.devices.camera.registers import RegisterMap
from controlroom.devices.camera.storage import FrameWriter, UnsafePathError, WriterStats
from controlroom.telemetry import TelemetryPipeline, shipped_dictionary

sys.path.append(str(Path(__file__).resolve().parents[1] / "storage"))
from framemaker import make_frame

OK = {"register": "v_end", "value": 163, "address": 0, "word": 1, "status": 0, "error": ""}


def _done(record: dict[str, Any]) -> Future[dict[str, Any]]:
    future: Future[dict[str, Any]] = Future()
    future.set_result(record)
    return future


# -- replies -------------------------------------------------------------------------


def test_a_taken_write_completes_with_its_record() -> None:
    source: Future[dict[str, Any]] = Future()
    reply = checked_write(source)
    assert not reply.done()
    source.set_result({**OK, "frame_counter": 12})
    assert reply.result(0) == {**OK, "frame_counter": 12}


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({**OK, "status": 10}, "v_end=163: RMAP status 10 \\(NOT_IMPLEMENTED_OR_NOT_AUTHORISED\\)"),
        ({**OK, "status": None, "error": "link down"}, "v_end=163: not sent \\(link down\\)"),
        ({**OK, "status": 200}, "RMAP status 200 \\(unknown status\\)"),
    ],
)
def test_a_refused_write_is_a_command_rejected_naming_it(
    record: dict[str, Any], message: str
) -> None:
    with pytest.raises(CommandRejected, match=message) as raised:
        checked_write(_done(record)).result(0)
    assert raised.value.records == [record]


def test_several_writes_complete_together_and_a_refusal_names_only_the_refused() -> None:
    sources: list[Future[dict[str, Any]]] = [Future(), Future(), Future()]
    reply = checked_writes(sources)
    sources[2].set_result(OK)
    sources[0].set_result({**OK, "register": "h_end"})
    assert not reply.done()  # the last write has not gone out yet
    sources[1].set_result({**OK, "register": "v_start", "status": 3})
    with pytest.raises(CommandRejected, match=r"did not take v_start=163: RMAP status 3") as raised:
        reply.result(0)
    assert [r["register"] for r in raised.value.records] == ["h_end", "v_start", "v_end"]
    assert "h_end" not in str(raised.value)


def test_a_processor_failure_passes_through_and_a_cancel_reaches_the_processor() -> None:
    failing: Future[dict[str, Any]] = Future()
    reply = checked_write(failing)
    failing.set_exception(ProcessorClosed("the DPU processor stopped"))
    with pytest.raises(ProcessorClosed, match="stopped"):
        reply.result(0)
    waiting: list[Future[dict[str, Any]]] = [Future(), Future()]
    assert checked_writes(waiting).cancel()
    assert all(source.cancelled() for source in waiting)


# -- images ----------------------------------------------------------------------------


def test_block_means_average_each_block_and_the_edge_blocks_what_they_hold() -> None:
    pixels = np.random.default_rng(3).integers(0, 65536, (37, 53), dtype=np.uint16)
    means = block_mean(pixels, 5)
    assert means.shape == (8, 11) and means.dtype == np.uint16
    assert means[0, 0] == np.rint(pixels[:5, :5].astype(float).mean())
    assert means[7, 10] == np.rint(pixels[35:, 50:].astype(float).mean())  # a 2 x 3 edge block
    assert np.array_equal(block_mean(pixels, 1), pixels)
    assert binning_for((4540, 2255), 512) == 9 and binning_for((64, 100), 16) == 7
    assert binning_for((64, 100), 2048) == 1


def _write(root: Path, *frames: Any) -> Path:
    writer = FrameWriter(root, queue_frames=8).start()
    for frame in frames:
        writer.put(frame, block=True)
    writer.close()
    [path] = root.glob("*/*.h5")
    return path


def test_the_latest_whole_frame_holding_the_side_is_chosen_in_the_current_file(
    tmp_path: Path,
) -> None:
    current = _write(
        tmp_path,
        make_frame(10, sides=((1, "E"), (3, "F"))),
        make_frame(11, sides=((2, "E"),)),
        make_frame(12, sides=((1, "E"),), complete=False),  # cut: never shown
    )
    image = latest_image(tmp_path, str(current), 1, "E", 16)
    expected = make_frame(10, sides=((1, "E"), (3, "F"))).images[1, "E"]
    assert (image["frame_counter"], image["obsid"], image["source_shape"]) == (
        10,
        "OBS_0001",
        [40, 30],
    )
    assert (image["binning"], image["shape"]) == (3, [14, 10])
    pixels = np.frombuffer(image["pixels"], "<u2").reshape(image["shape"])
    assert np.array_equal(pixels, block_mean(expected, 3))
    assert latest_image(tmp_path, "", 2, "E", 64)["frame_counter"] == 11  # no current file: newest
    with pytest.raises(NoImage, match="no stored image of CCD 4 side F yet"):
        latest_image(tmp_path, str(current), 4, "F", 64)


def test_no_image_yet_and_a_file_outside_the_root_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(NoImage, match="CCD 1 side E"):
        latest_image(tmp_path / "nothing", "", 1, "E", 512)
    with pytest.raises(UnsafePathError, match="outside the camera storage root"):
        latest_image(tmp_path / "frames", str(tmp_path / "elsewhere.h5"), 1, "E", 512)


# -- options, arguments -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"speed": 0}, "speed: above 0"),
        ({"speed": "fast"}, "speed: a number"),
        ({"compression": "zip"}, "compression: one of none, gzip, lz4"),
        ({"queue_frames": 0}, "queue_frames: 1..1024"),
        ({"ready_timeout_s": -1}, "ready_timeout_s: 0..600"),
        ({"restart": {"max_restart": 3}}, r"restart: unknown \['max_restart'\]"),
        ({"restart": {"max_restarts": -1}}, "restart.max_restarts: a number >= 0"),
        ({"publish": "udp://127.0.0.1:1"}, "publish: a tcp:// endpoint"),
        ({"publish": "tcp://127.0.0.1:1 --root /"}, "publish: an endpoint without spaces"),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ArgumentError, match=f"DPU option {message}"):
        DpuOptions.checked(root=str(tmp_path), **options)


def test_without_a_root_the_frames_go_under_the_settings_data_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "local-settings.yaml"
    local.write_text(f"locations:\n  data: {tmp_path / 'data'}\n")
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(local))
    assert DpuOptions.checked().root == tmp_path / "data" / "camera"
    assert DpuOptions.checked(root="").root == tmp_path / "data" / "camera"


def test_the_processor_runs_on_the_link_with_the_options(tmp_path: Path) -> None:
    options = DpuOptions.checked(root=str(tmp_path), speed=20, compression="gzip", queue_frames=4)
    argv = processor_argv("tcp://127.0.0.1:5555", options)
    assert argv[:3] == [sys.executable, "-m", "controlroom.devices.camera.dpu.process"]
    pairs = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert pairs == {
        "--link": "tcp://127.0.0.1:5555", "--root": str(tmp_path), "--speed": "20.0",
        "--compression": "gzip", "--queue-frames": "4", "--publish": "tcp://127.0.0.1:0",
        "--parent": str(os.getpid()),  # it stops by itself once we are gone
    }  # fmt: skip
    wide = DpuOptions.checked(root=str(tmp_path), publish="tcp://*:7790")
    assert processor_argv("tcp://127.0.0.1:5555", wide)[-4:-2] == ["--publish", "tcp://*:7790"]
    assert options.restart.max_restarts == 5  # the process manager's numbers by default


def test_register_values_and_readouts_are_checked_before_anything_is_queued() -> None:
    assert "ccd_mode_config" in CONFIG_REGISTERS and "op_mode" not in CONFIG_REGISTERS
    assert check_value("h_end", 4095) == 4095
    with pytest.raises(ArgumentError, match=r"register 'sensor_sel' holds 0\.\.3, not 4"):
        check_value("sensor_sel", 4)
    with pytest.raises(ArgumentError, match="v_start 10 is after v_end 9"):
        Geometry(10, 9)
    with pytest.raises(ArgumentError, match=r"h_end is 0\.\.2254, not 3000"):
        Geometry(h_end=3000)
    assert Geometry(1, 2, 3, 1).writes()[-1] == ("digitise_en", 1)


# -- readings and their telemetry names -------------------------------------------------


def _processor_status(**changes: Any) -> dict[str, Any]:
    """A processor status as its control endpoint gives it, with every HK field."""
    layout = RegisterMap.load().layout
    hk = {f.name: f.default for f in layout.fields.values() if f.access == "ro"}
    hk.update(changes)
    return {
        "mode": "ON", "frame_counter": 9, "timecode": 9, "num_cycles": 0, "error_flags": 0,
        "obsid": None, "synced": True, "housekeeping": hk,
        "counters": dataclasses.asdict(LoopCounters()), "file": "",
        "writer": dataclasses.asdict(WriterStats()), "writer_lag_s": 0.01, "lagging": False,
    }  # fmt: skip


UP = {"pid": 42, "up": True, "state": "running", "restarts": 0, "publish": "tcp://x:1"}
DOWN = {"pid": None, "up": False, "state": "backoff", "restarts": 1, "last_exit": {"code": -9}}


def test_every_housekeeping_name_is_in_the_telemetry_dictionary() -> None:
    dictionary = shipped_dictionary()
    hk = dpu_housekeeping(_processor_status(), UP)
    assert set(hk) == {p.original for p in dictionary.parameters("DPU")}
    pipeline = TelemetryPipeline(dictionary, "DPU", "LAB")
    sample = pipeline("dpu", 1.0, hk)
    assert not pipeline.unknown and "_limits" not in sample  # a FEE at rest: no alarm
    assert sample["DPU_VCCD"] == pytest.approx(31.0) and sample["DPU_BOARD_TEMP"] == pytest.approx(
        298.15
    )


def test_error_flags_and_a_processor_down_cross_their_limits() -> None:
    pipeline = TelemetryPipeline(shipped_dictionary(), "DPU", "LAB")
    flagged = pipeline("dpu", 1.0, dpu_housekeeping(_processor_status(error_flags=0x10), UP))
    crossed = {(c["parameter"], c["state"]) for c in flagged["_limits"]}
    assert crossed == {("DPU_ERROR_FLAGS", "entered_alarm")}
    down = pipeline("dpu", 2.0, dpu_housekeeping(None, DOWN))
    assert ("DPU_PROCESSOR_UP", "entered_alarm") in {
        (c["parameter"], c["state"]) for c in down["_limits"]
    }
    assert set(down) - {"_limits"} == {"DPU_PROCESSOR_UP", "DPU_PROCESSOR_RESTARTS"}


def test_status_names_the_error_flags_and_says_when_the_processor_is_down() -> None:
    assert error_flag_names(0x111) == ["COMMAND_OUTSIDE_WINDOW", "TX_BUFFER_OVERFLOW", "BIT_8"]
    status = dpu_status(_processor_status(), UP)
    assert (status["mode"], status["processor_up"], status["processor_pid"]) == ("ON", True, 42)
    assert status["hdf5_file"] is None and status["frames"] == 0
    down = dpu_status(None, DOWN)
    assert down["mode"] is None and down["frame_counter"] is None and not down["processor_up"]
    assert (down["processor_state"], down["processor_restarts"]) == ("backoff", 1)
    assert down["processor_last_exit"] == {"code": -9}
