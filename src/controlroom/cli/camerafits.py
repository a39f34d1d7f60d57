"""``controlroom camera fits``: FITS cubes per CCD side from an observation's HDF5 files.

Once, or ``--live``: the cubes are brought up to date every ``--poll``
seconds (:meth:`~controlroom.devices.camera.storage.fits.FitsCubes.update`
reads only what was written since) until Ctrl-C or SIGTERM, which end the
wait at once through a stop event; a last update then takes what came in
meanwhile, so stopping loses no frame that was stored.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from controlroom.cli import render
from controlroom.cli.context import cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.config.settings import location

DEFAULT_DEVICE = "dpu"
CAMERA_FOLDER = "camera"  # under locations.data, when the device entry names no root

RootOpt = Annotated[
    Path | None,
    typer.Option(
        "--root",
        file_okay=False,
        help="Folder of the camera's HDF5 files (default: the dpu entry's options.root in "
        "the Settings, else <locations.data>/camera).",
        show_default=False,
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", file_okay=False, help="Folder for the FITS files (default: ./OBSID_fits).",
        show_default=False,
    ),
]  # fmt: skip


@reported
def fits(
    ctx: typer.Context,
    obsid: Annotated[str, typer.Argument(help="The observation whose frames to convert.")],
    *,
    root: RootOpt = None,
    out: OutOpt = None,
    live: Annotated[
        bool, typer.Option("--live", help="Keep adding frames as they are stored, until Ctrl-C.")
    ] = False,
    poll: Annotated[
        float, typer.Option("--poll", min=0.05, max=60, help="Seconds between looks (--live).")
    ] = 1.0,
    frames_per_file: Annotated[
        int, typer.Option("--frames-per-file", min=1, max=1000, help="Frames per FITS cube.")
    ] = 10,
) -> None:
    """Write FITS cubes per CCD side of observation OBSID (OBSID_ccdN_S_BLOCK.fits).

    With --live, frames stored later are added as they come (the cube being
    filled is rewritten) until Ctrl-C or SIGTERM.
    """
    from controlroom.devices.camera.storage.fits import FitsCubes  # astropy: a slow import

    folder = root if root is not None else camera_root(cli_state(ctx).settings)
    target = out if out is not None else Path(f"{obsid}_fits")
    if not folder.is_dir():
        raise CliError(f"{folder} is not a folder (give the camera's storage root with --root)")
    cubes = FitsCubes(folder, obsid, target, frames_per_file=frames_per_file)
    if not live:
        written = cubes.update()
        if not written:
            raise CliError(f"no stored frames of observation {obsid} under {folder}")
        _report(written)
        return
    with stop_on_signals() as stop:
        render.say(f"following {obsid} under {folder} into {target} (Ctrl-C stops)")
        count = follow(cubes.update, stop, poll, _report)
    render.say(f"stopped: {count} FITS writes of {obsid} in {target}")


def camera_root(settings: Mapping[str, Any]) -> Path:
    """Where the DPU stores frames: its entry's ``options.root``, else ``camera`` under the
    data folder (as the DPU controller itself decides)."""
    entry = (settings.get("devices") or {}).get(DEFAULT_DEVICE) or {}
    options = entry.get("options") if isinstance(entry, Mapping) else None
    given = options.get("root") if isinstance(options, Mapping) else None
    if isinstance(given, str) and given:
        return Path(given).expanduser()
    return location(settings, "data") / CAMERA_FOLDER


def follow(
    update: Callable[[], list[Path]],
    stop: threading.Event,
    poll_s: float,
    report: Callable[[list[Path]], None],
) -> int:
    """``update`` every ``poll_s`` until ``stop`` is set, then once more; the files written."""
    count = 0
    while True:
        last = stop.is_set()  # set during the wait: this round takes what came meanwhile
        written = update()
        if written:
            report(written)
            count += len(written)
        if last:
            return count
        stop.wait(poll_s)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event SIGINT and SIGTERM set (instead of raising), for the time of the block."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _report(written: list[Path]) -> None:
    for path in written:
        render.say(f"wrote {path}")
