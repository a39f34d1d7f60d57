"""``controlroom camera``: the camera's DPU control server from the command line.

``status`` (a table of the DPU status), ``mode [MODE]`` (show it, or set it and
wait for the DPU's reply), ``image`` (the latest image of one CCD side as a
PNG, made by :mod:`controlroom.devices.camera.preview`) and ``fits`` (FITS
cubes from the stored frames, :mod:`.camerafits`). The control server is the
Settings device ``dpu`` unless ``--device`` names another; it is found like
any control server (:func:`~controlroom.cli.context.server_endpoints`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.call import DEFAULT_TIMEOUT_S, TimeoutOpt
from controlroom.cli.camerafits import DEFAULT_DEVICE
from controlroom.cli.camerafits import fits as fits_command
from controlroom.cli.context import cli_state, server_endpoints
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import JsonOutput
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.preview import STRETCHES, image_png
from controlroom.rpc import CallTimeout, Proxy
from controlroom.storage.timefmt import format_datetime

camera_app = typer.Typer(help="The camera's DPU: status, mode, the latest image, FITS cubes.")
camera_app.command("fits")(fits_command)

MODES = tuple(mode.name for mode in FeeMode)
SET_MODE_TIMEOUT_S = 30.0  # a mode goes out in the next command window: up to a sync period
DeviceOpt = Annotated[
    str, typer.Option("--device", help="The DPU control server's name in the Settings.")
]


@contextmanager
def dpu_proxy(ctx: typer.Context, device: str, timeout: float) -> Iterator[Proxy]:
    """A proxy of the DPU control server; a timeout says what to check next."""
    endpoints = server_endpoints(cli_state(ctx), device)
    try:
        with Proxy(endpoints.commands, name=device, timeout=timeout) as proxy:
            yield proxy
    except CallTimeout as exc:
        raise CliError(f"{exc} (is it running? `controlroom cs status {device}`)") from exc


@camera_app.command("status")
@reported
def status(
    ctx: typer.Context,
    *,
    device: DeviceOpt = DEFAULT_DEVICE,
    as_json: JsonOutput = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
) -> None:
    """The DPU's status: mode, frame counter, error flags, frames stored, processor health.

    What the control server published last (it publishes its status a few times a second).
    """
    with dpu_proxy(ctx, device, timeout) as proxy:
        sample = proxy.get_status()
    if sample is None or not isinstance(sample.get("values"), Mapping):
        raise CliError(f"{device} has published no status yet")
    if as_json:
        render.print_json(sample)
        return
    values = sample["values"]
    title = f"{device} status at {format_datetime(float(sample.get('time') or 0.0))}"
    render.out().print(render.key_value_table(status_rows(values), title=title))


def status_rows(found: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The status as table rows; raised error flags and a lagging writer in red."""
    rows: list[tuple[str, Any]] = []
    for key, value in found.items():
        if key == "error_flag_names":
            continue  # shown with error_flags
        if key == "error_flags":
            rows.append((key, error_flags_text(value, found.get("error_flag_names"))))
        elif (key == "writer_lagging" and value) or (key == "processor_up" and value is False):
            rows.append((key, Text(render.format_value(value), style="bold red")))
        else:
            rows.append((key, value))
    return rows


def error_flags_text(flags: Any, names: Any) -> Text:
    """``0 (none)`` or ``0x5 COMMAND_OUTSIDE_WINDOW, INVALID_MODE`` in red."""
    if flags is None:
        return Text("unknown (no housekeeping from the FEE)")
    if not flags:
        return Text(f"{flags} (none)")
    listed = ", ".join(str(n) for n in names) if isinstance(names, list | tuple) else ""
    shown = f"{flags:#x}" if isinstance(flags, int) else str(flags)
    return Text(f"{shown} {listed}".strip(), style="bold red")


@camera_app.command("mode")
@reported
def mode(
    ctx: typer.Context,
    new_mode: Annotated[
        str | None,
        typer.Argument(
            metavar="[MODE]", help=f"Set this mode: {', '.join(MODES)}.", show_default=False
        ),
    ] = None,
    *,
    device: DeviceOpt = DEFAULT_DEVICE,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.01, help="Seconds to wait for the reply.", metavar="S"),
    ] = SET_MODE_TIMEOUT_S,
) -> None:
    """Show the FEE's mode, or set MODE and wait until the DPU sent it in a command window."""
    if new_mode is None:
        with dpu_proxy(ctx, device, timeout) as proxy:
            render.say(str(proxy.call("get_mode")))
        return
    chosen = new_mode.upper()
    if chosen not in MODES:
        raise CliError(f"no mode {new_mode!r}: choose one of {', '.join(MODES)}")
    with dpu_proxy(ctx, device, timeout) as proxy:
        reply = proxy.call("set_mode", chosen)
    render.say(f"{device}: mode {chosen} sent{_reply_note(reply)}")


def _reply_note(reply: Any) -> str:
    """What the DPU said about the command it sent, in a few words."""
    if isinstance(reply, Mapping) and "frame_counter" in reply:
        return f" in the command window of frame {reply['frame_counter']}"
    return ""


@camera_app.command("image")
@reported
def image(
    ctx: typer.Context,
    *,
    ccd: Annotated[int, typer.Option("--ccd", min=1, max=4, help="CCD 1 to 4.")],
    side: Annotated[str, typer.Option("--side", help="CCD side: E or F.")],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="The PNG file to write.")],
    max_size: Annotated[
        int,
        typer.Option(
            "--max-size", min=16, max=8192, help="Bin down to at most this many pixels a side."
        ),
    ] = 512,
    stretch: Annotated[
        str, typer.Option("--stretch", help=f"Contrast: {' or '.join(STRETCHES)}.")
    ] = "percentile",
    device: DeviceOpt = DEFAULT_DEVICE,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
) -> None:
    """Write the latest image of CCD side (--ccd, --side) as an 8-bit grayscale PNG.

    The contrast is stretched between the 0.5 and 99.5 percentiles (or the
    image's minimum and maximum with --stretch minmax).
    """
    chosen = side.upper()
    if chosen not in ("E", "F"):
        raise CliError(f"--side {side!r}: E or F")
    if stretch not in STRETCHES:
        raise CliError(f"--stretch {stretch!r}: {' or '.join(STRETCHES)}")
    with dpu_proxy(ctx, device, timeout) as proxy:
        found = proxy.call("latest_image", ccd, chosen, max_size=max_size)
    if not found:
        raise CliError(f"{device} has no image of ccd {ccd} side {chosen} yet")
    png = image_png(found, stretch=stretch)
    out.write_bytes(png)
    rows, cols = found["shape"]
    render.say(
        f"wrote {out}: frame {found.get('frame_counter')}, ccd {ccd} side {chosen}, "
        f"{rows} x {cols} (binning {found.get('binning')}), "
        f"pixels {found.get('min')}..{found.get('max')}"
    )
