"""``controlroom camera``: FITS cubes from stored frames, once and live.

The frames are written by the camera storage's own FrameWriter into a
tmp_path root, as the DPU processor writes them.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from typer.testing import Result

from controlroom.cli.camera import MODES
from controlroom.cli.camerafits import camera_root, follow
from controlroom.devices.camera.storage import Frame, FrameWriter, observation_files
from controlroom.rpc.child import Child, module_argv
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

Cli = Callable[..., Result]
OBSID = "LAB_00042"
T0 = 1_767_268_800.0  # 2026-01-01 12:00:00 UTC
WAIT_S = 30.0  # a bound for waits on the live process; never reached when all goes well


def frame(counter: int, obsid: str = OBSID) -> Frame:
    """Frame ``counter`` with pixels of ccd 2 side F seeded by the counter."""
    rng = np.random.default_rng(counter)
    return Frame(
        obsid=obsid,
        frame_counter=counter,
        timecode=counter % 64,
        received_s=T0 + counter * 6.25,
        hk=bytes(64),
        register_map=np.zeros(256, np.uint8),
        images={(2, "F"): rng.integers(0, 65536, (12, 9), dtype=np.uint16)},
    )


def store(root: Path, counters: range) -> list[Frame]:
    frames = [frame(i) for i in counters]
    with FrameWriter(root, queue_frames=8) as writer:
        for one in frames:
            writer.put(one, block=True)
    return frames


def cube(path: Path) -> np.ndarray:
    with fits.open(path) as hdus:
        return np.array(hdus[0].data)


def test_fits_writes_one_cube_per_block(cli: Cli, tmp_path: Path) -> None:
    frames = store(tmp_path / "h5", range(3))
    out = tmp_path / "fits"
    args = ("--root", str(tmp_path / "h5"), "--out", str(out), "--frames-per-file", "2")
    result = cli("camera", "fits", OBSID, *args)
    assert result.exit_code == 0, result.stderr
    names = [f"{OBSID}_ccd2_F_0001.fits", f"{OBSID}_ccd2_F_0002.fits"]
    assert [line.split("/")[-1] for line in result.stdout.splitlines()] == names
    stacked = np.concatenate([cube(out / name) for name in names])
    assert np.array_equal(stacked, np.stack([f.images[(2, "F")] for f in frames]))


def test_fits_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    store(tmp_path / "h5", range(1))
    missing = cli("camera", "fits", "LAB_00001", "--root", str(tmp_path / "h5"))
    assert missing.exit_code == 1
    assert (
        missing.stderr.strip()
        == f"error: no stored frames of observation LAB_00001 under {tmp_path / 'h5'}"
    )
    bad = cli("camera", "fits", "../up", "--root", str(tmp_path / "h5"))
    assert bad.exit_code == 1 and bad.stderr.startswith("error: obsid '../up'")
    assert len(bad.stderr.strip().splitlines()) == 1
    nowhere = cli("camera", "fits", OBSID, "--root", str(tmp_path / "nope"))
    assert nowhere.exit_code == 1 and "is not a folder" in nowhere.stderr


def test_the_root_comes_from_the_dpu_options_else_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings: dict[str, Any] = {"locations": {"data": str(data)}, "devices": {}}
    assert camera_root(settings) == data / "camera"
    settings["devices"] = {"dpu": {"options": {"root": ""}}}
    assert camera_root(settings) == data / "camera"
    settings["devices"] = {"dpu": {"options": {"root": str(tmp_path / "frames")}}}
    assert camera_root(settings) == tmp_path / "frames"


def test_follow_makes_a_last_update_after_the_stop() -> None:
    stop = threading.Event()
    calls: list[int] = []

    def update() -> list[Path]:
        calls.append(len(calls))
        stop.set()  # as a signal during the first round would: frames may have come meanwhile
        return [Path(f"cube{len(calls)}.fits")]

    reported: list[list[Path]] = []
    assert follow(update, stop, 60.0, reported.append) == 2
    assert calls == [0, 1] and reported == [[Path("cube1.fits")], [Path("cube2.fits")]]


@contextmanager
def live_fits(root: Path, out: Path, log: Path) -> Iterator[Child]:
    argv = module_argv(
        "controlroom.cli.main",
        *("camera", "fits", OBSID, "--live", "--poll", "0.05", "--frames-per-file", "10"),
        *("--root", str(root), "--out", str(out)),
    )
    child = Child.spawn("camera fits --live", argv, log_path=log)
    try:
        yield child
    finally:
        child.stop()


def _line(prefix: str) -> Callable[[str], str | None]:
    return lambda line: line if line.startswith(prefix) else None


@pytest.mark.integration
def test_fits_live_adds_frames_until_sigterm(local_settings: Path, tmp_path: Path) -> None:
    root, out = tmp_path / "h5", tmp_path / "fits"
    first = store(root, range(2))
    target = out / f"{OBSID}_ccd2_F_0001.fits"
    with live_fits(root, out, tmp_path / "live.log") as child:
        assert child.read_ready(_line("following"), WAIT_S), child.stderr_tail()
        assert child.read_ready(_line("wrote"), WAIT_S) == f"wrote {target}"
        later = store(root, range(2, 5))  # a restarted writer: a second file part
        assert wait_until(lambda: target.exists() and len(cube(target)) == 5, WAIT_S)
        child.signal(signal.SIGTERM)
        assert child.read_ready(_line("stopped:"), WAIT_S), child.stderr_tail()
        assert child.process.wait(WAIT_S) == 0
    expected = np.stack([f.images[(2, "F")] for f in [*first, *later]])
    assert np.array_equal(cube(target), expected)


# -- Against a real FEE simulator and DPU control server ----------------------------------

_CAMERA_TESTS = Path(__file__).resolve().parents[1] / "devices" / "camera"
if str(_CAMERA_TESTS) not in sys.path:
    sys.path.append(str(_CAMERA_TESTS))  # camera_views: the served DPU and a PNG reader
from camera_views import (  # noqa: E402
    MAX_SIZE,
    Camera,
    camera_server,
    expected_gray,
    read_png,
    take_images,
    whole_image_frames,
)

SettingsWriter = Callable[..., Path]
CONTROLLER = "controlroom.devices.camera.control:DpuController"


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Camera]:
    with camera_server(tmp_path_factory.mktemp("camera")) as served:
        yield served


@pytest.fixture
def dpu(camera: Camera, local_settings: Path, write_settings: SettingsWriter) -> Camera:
    """The Settings name the served DPU ``dpu``, with its storage root."""
    write_settings(
        dpu={
            "controller": CONTROLLER,
            "commands": camera.server.endpoint,
            "publish": camera.server.pub_endpoint,
            "options": {"root": str(camera.root)},
        }
    )
    return camera


@pytest.mark.integration
def test_status_is_a_table_of_what_the_dpu_published(cli: Cli, dpu: Camera) -> None:
    def published_in_sync() -> bool:
        values = json.loads(cli("camera", "status", "--json").stdout)["values"]
        return values.get("processor_up") is True and values.get("synced") is True

    # The status is published every status period: the first one may predate the sync.
    assert wait_until(published_in_sync, WAIT_S)
    table = cli("camera", "status")
    assert table.exit_code == 0, table.stderr
    lines = {line.split()[0]: line.split()[1:] for line in table.stdout.splitlines()[1:] if line}
    assert lines["processor_up"] == ["True"] and lines["synced"] == ["True"]
    assert lines["error_flags"] == ["0", "(none)"] and "error_flag_names" not in lines
    assert table.stdout.startswith("dpu status at ")
    as_json = cli("camera", "status", "--json")
    values = json.loads(as_json.stdout)["values"]
    assert values["processor_pid"] == dpu.status()["processor_pid"]
    assert isinstance(values["frame_counter"], int)


@pytest.mark.integration
def test_mode_is_shown_and_set(cli: Cli, dpu: Camera) -> None:
    shown = cli("camera", "mode")
    assert shown.exit_code == 0 and shown.stdout.strip() in MODES, shown.stderr
    standby = cli("camera", "mode", "standby")
    assert standby.exit_code == 0, standby.stderr
    assert re.fullmatch(
        r"dpu: mode STANDBY sent in the command window of frame \d+\n", standby.stdout
    )
    # Loaded by the FEE on the next long pulse: within four sync periods.
    assert wait_until(lambda: cli("camera", "mode").stdout.strip() == "STANDBY", WAIT_S)
    wrong = cli("camera", "mode", "SNOOZE")
    assert wrong.exit_code == 1
    assert wrong.stderr.startswith("error: no mode 'SNOOZE': choose one of ON, FULL_IMAGE_PATTERN")


@pytest.mark.integration
def test_image_writes_the_stored_frame_as_png(cli: Cli, dpu: Camera, tmp_path: Path) -> None:
    take_images(dpu, ccd=2)
    out = tmp_path / "ccd2E.png"
    args = ("--ccd", "2", "--side", "E", "--max-size", str(MAX_SIZE), "--stretch", "minmax")
    written = cli("camera", "image", *args, "--out", str(out))
    assert written.exit_code == 0, written.stderr
    said = re.fullmatch(
        rf"wrote {out}: frame (\d+), ccd 2 side E, 16 x 25 \(binning 4\), pixels \d+\.\.\d+\n",
        written.stdout,
    )
    assert said, written.stdout
    header, gray = read_png(out.read_bytes())
    assert (header["width"], header["height"]) == (25, 16)
    stored = expected_gray(dpu.root, int(said.group(1)), 2, "E", MAX_SIZE, "minmax")
    assert np.array_equal(gray, stored) and gray.min() == 0 and gray.max() == 255
    # Only the E sides are read out: no F side was ever stored.
    missing = cli("camera", "image", "--ccd", "2", "--side", "F", "--out", str(tmp_path / "f.png"))
    assert missing.exit_code == 1 and not (tmp_path / "f.png").exists()
    assert missing.stderr.startswith("error: NoImage: no stored image of CCD 2 side F yet")
    assert len(missing.stderr.strip().splitlines()) == 1
    wrong = cli("camera", "image", "--ccd", "2", "--side", "G", "--out", str(out))
    assert wrong.exit_code == 1 and wrong.stderr.strip() == "error: --side 'G': E or F"


@pytest.mark.integration
def test_fits_of_an_observation_the_dpu_stored(cli: Cli, dpu: Camera, tmp_path: Path) -> None:
    obsid = "LAB_00077"
    with dpu.proxy() as proxy:
        proxy.set_obsid(obsid)
        try:
            take_images(dpu, ccd=1)
            assert wait_until(lambda: len(stored_frames(dpu.root, obsid)) >= 2, WAIT_S)
        finally:
            proxy.set_obsid(None)
    out = tmp_path / "cubes"
    made = cli("camera", "fits", obsid, "--out", str(out))  # the root from the Settings
    assert made.exit_code == 0, made.stderr
    frames = stored_frames(dpu.root, obsid)
    for key in {key for f in frames for key in f.images}:
        path = out / f"{obsid}_ccd{key[0]}_{key[1]}_0001.fits"
        with fits.open(path) as hdus:
            planes, first = np.array(hdus[0].data), hdus[0].header["FRAME0"]
        ours = [f.images[key] for f in frames if key in f.images and f.frame_counter >= first]
        assert np.array_equal(planes, np.stack(ours[: len(planes)]))


def stored_frames(root: Path, obsid: str) -> list[Frame]:
    return [f for path in observation_files(root, obsid) for f in whole_image_frames(path)]


@pytest.mark.integration
def test_a_dpu_that_does_not_answer_is_one_line(cli: Cli, write_settings: SettingsWriter) -> None:
    nobody = [f"tcp://127.0.0.1:{free_tcp_port()}" for _ in range(2)]
    write_settings(dpu={"controller": CONTROLLER, "commands": nobody[0], "publish": nobody[1]})
    silent = cli("camera", "status", "--timeout", "0.3")
    assert silent.exit_code == 1
    assert silent.stderr.strip().endswith("(is it running? `controlroom cs status dpu`)")
    assert len(silent.stderr.strip().splitlines()) == 1
    unknown = cli("camera", "mode", "--device", "nope")
    assert unknown.exit_code == 1 and "no device 'nope' in the settings" in unknown.stderr
