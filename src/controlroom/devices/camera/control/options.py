"""The DPU controller's options (its Settings entry's ``options:``) and the processor's argv.

Options, all checked here with a message naming the option:

* ``root``: the folder of the camera's HDF5 files; empty: ``camera`` under
  the Settings' ``locations.data`` (read from the Settings this process
  started with);
* ``speed``: the FEE's speed factor (its sync period is 6.25 s / speed); it
  must be the FEE simulator's ``--speed`` (1 for real hardware);
* ``compression``: ``none``, ``gzip`` or ``lz4`` (lz4 needs hdf5plugin);
* ``queue_frames``: frames the processor's writer queues before it lags;
* ``ready_timeout_s``: how long a starting processor has for its ready line;
* ``publish``: where the processor publishes its topics (``tcp://127.0.0.1:0``:
  a free loopback port; ``tcp://*:7790`` for viewers on other hosts, which
  needs CURVE like every socket beyond loopback);
* ``restart``: the restart policy (``first_delay_s``, ``max_delay_s``,
  ``max_restarts``, ``stable_after_s``), by default the process manager's.

With CURVE on (the Settings name a keys folder) the processor secures its
sockets from the same local Settings file, named by
``CONTROLROOM_LOCAL_SETTINGS``, so its client here can reach it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from controlroom.config.settings import LOCAL_SETTINGS_ENV, load_settings, location
from controlroom.device.errors import ArgumentError
from controlroom.devices.camera.control.errors import ProcessorStartError
from controlroom.devices.camera.control.supervisor import DEFAULT_POLICY
from controlroom.rpc import curve
from controlroom.rpc.child import module_argv
from controlroom.rpc.threads import RestartPolicy

PROCESSOR_MODULE = "controlroom.devices.camera.dpu.process"
COMPRESSIONS = ("none", "gzip", "lz4")
MAX_SPEED = 1000.0  # as the processor accepts
MAX_QUEUE_FRAMES = 1024
CAMERA_FOLDER = "camera"
DEFAULT_PUBLISH = "tcp://127.0.0.1:0"
MAX_ENDPOINT_CHARS = 256


@dataclass(frozen=True)
class DpuOptions:
    """The checked options of one DPU controller."""

    root: Path
    speed: float = 1.0
    compression: str = "none"
    queue_frames: int = 16
    ready_timeout_s: float = 30.0
    restart: RestartPolicy = DEFAULT_POLICY
    publish: str = DEFAULT_PUBLISH

    @classmethod
    def checked(
        cls,
        *,
        root: str | Path = "",
        speed: float = 1.0,
        compression: str = "none",
        queue_frames: int = 16,
        ready_timeout_s: float = 30.0,
        restart: Mapping[str, Any] | None = None,
        publish: str = DEFAULT_PUBLISH,
    ) -> DpuOptions:
        """The options as given, checked; ArgumentError names the first bad one."""
        if isinstance(speed, bool) or not isinstance(speed, int | float):
            raise ArgumentError(f"DPU option speed: a number, not {speed!r}")
        if not (math.isfinite(speed) and 0 < speed <= MAX_SPEED):
            raise ArgumentError(f"DPU option speed: above 0 and at most {MAX_SPEED:g}, not {speed}")
        if compression not in COMPRESSIONS:
            raise ArgumentError(
                f"DPU option compression: one of {', '.join(COMPRESSIONS)}, not {compression!r}"
            )
        if isinstance(queue_frames, bool) or not isinstance(queue_frames, int):
            raise ArgumentError(f"DPU option queue_frames: an integer, not {queue_frames!r}")
        if not 1 <= queue_frames <= MAX_QUEUE_FRAMES:
            raise ArgumentError(
                f"DPU option queue_frames: 1..{MAX_QUEUE_FRAMES}, not {queue_frames}"
            )
        if isinstance(ready_timeout_s, bool) or not isinstance(ready_timeout_s, int | float):
            raise ArgumentError(f"DPU option ready_timeout_s: seconds, not {ready_timeout_s!r}")
        if not 0 < ready_timeout_s <= 600:
            raise ArgumentError(f"DPU option ready_timeout_s: 0..600 s, not {ready_timeout_s}")
        folder = Path(root).expanduser() if str(root) else default_root()
        return cls(
            folder, float(speed), compression, queue_frames, float(ready_timeout_s),
            restart_policy(restart or {}), publish_endpoint(publish),
        )  # fmt: skip


def publish_endpoint(value: object) -> str:
    """A tcp:// endpoint for the processor's publications (bound by it, checked there too)."""
    if not isinstance(value, str) or not value.startswith("tcp://"):
        raise ArgumentError(f"DPU option publish: a tcp:// endpoint, not {value!r}")
    if len(value) > MAX_ENDPOINT_CHARS or any(c.isspace() for c in value):
        raise ArgumentError(
            "DPU option publish: an endpoint without spaces, 256 characters at most"
        )
    return value


def restart_policy(values: Mapping[str, Any]) -> RestartPolicy:
    """The default policy with ``values`` replaced; ArgumentError for an unknown or bad key."""
    known = {f.name for f in dataclasses.fields(RestartPolicy)}
    unknown = sorted(set(map(str, values)) - known)
    if unknown:
        raise ArgumentError(f"DPU option restart: unknown {unknown} (known: {sorted(known)})")
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ArgumentError(f"DPU option restart.{name}: a number >= 0, not {value!r}")
    return dataclasses.replace(DEFAULT_POLICY, **dict(values))


def default_root() -> Path:
    """``camera`` under the data location of the Settings this process runs with."""
    return location(load_settings(), "data") / CAMERA_FOLDER


def processor_argv(url: str, options: DpuOptions) -> list[str]:
    """``python -m controlroom.devices.camera.dpu.process`` for the FEE at ``url``."""
    argv = module_argv(
        PROCESSOR_MODULE,
        *("--link", url, "--root", str(options.root), "--speed", repr(options.speed)),
        *("--compression", options.compression, "--queue-frames", str(options.queue_frames)),
        *("--publish", options.publish),
        *("--parent", str(os.getpid())),  # it stops when we are gone, crashed or killed
    )
    settings = settings_for_curve()
    if settings is not None:
        argv += ["--settings", settings]
    return argv


def settings_for_curve() -> str | None:
    """The local Settings file the processor needs for CURVE; None when CURVE is off."""
    security = curve.security_of(zmq.Context.instance())
    if security is None or security.keyring is None:
        return None
    path = os.environ.get(LOCAL_SETTINGS_ENV, "")
    if not path:
        raise ProcessorStartError(
            "CURVE is on but no local Settings file is named by "
            f"{LOCAL_SETTINGS_ENV}: the DPU processor could not secure its sockets"
        )
    return path
