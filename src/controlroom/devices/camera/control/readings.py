"""Status and housekeeping of the DPU control server: the processor's status, its supervision.

One status request to the processor (answered by its control endpoint at
once, never through its loop) gives everything: the mirror of the FEE
(mode, frame counter, error flags), its counters, its storage, and the last
housekeeping packet's values. The supervision adds whether the processor
runs at all. While it is down the processor's values are None, and the
housekeeping holds only what the control server itself knows.

Housekeeping is flat and numeric, for storage: the FEE's housekeeping
fields by their register names (``ccd1_temp``, ``error_flags``, ...) and the
DPU's own values prefixed ``dpu_``. The telemetry dictionary (origin
``DPU``) names, calibrates and limit-checks every one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controlroom.devices.camera.modes import ErrorFlag

Status = dict[str, Any]


def error_flag_names(flags: int) -> list[str]:
    """The names of the flags set in ``flags`` (``BIT_n`` for a bit without a name)."""
    named = {int(flag): str(flag.name) for flag in ErrorFlag}
    return [named.get(1 << bit, f"BIT_{bit}") for bit in range(16) if flags & (1 << bit)]


def dpu_status(processor: Mapping[str, Any] | None, supervision: Mapping[str, Any]) -> Status:
    """What displays need: the FEE as mirrored, the storage, and the processor's health."""
    known = processor or {}
    counters = known.get("counters") or {}
    flags = known.get("error_flags")
    return {
        "mode": known.get("mode"),
        "frame_counter": known.get("frame_counter"),
        "timecode": known.get("timecode"),
        "num_cycles": known.get("num_cycles"),
        "error_flags": flags,
        "error_flag_names": error_flag_names(flags) if isinstance(flags, int) else [],
        "obsid": known.get("obsid"),
        "synced": known.get("synced"),
        "hdf5_file": known.get("file") or None,
        "frames": counters.get("frames"),
        "incomplete_frames": counters.get("incomplete_frames"),
        "writer_lag_s": known.get("writer_lag_s"),
        "writer_lagging": known.get("lagging"),
        "processor_pid": supervision.get("pid"),
        "processor_up": bool(supervision.get("up")),
        "processor_state": supervision.get("state"),
        "processor_restarts": supervision.get("restarts", 0),
        "processor_last_exit": supervision.get("last_exit"),
        "processor_publish": supervision.get("publish"),
    }


# The DPU's own housekeeping: name -> where it is in the processor's status.
_DPU_COUNTERS = {
    "dpu_frames": "frames",
    "dpu_incomplete_frames": "incomplete_frames",
    "dpu_loop_errors": "errors",
    "dpu_commands_sent": "commands_sent",
    "dpu_commands_failed": "commands_failed",
}


def dpu_housekeeping(
    processor: Mapping[str, Any] | None, supervision: Mapping[str, Any]
) -> dict[str, int | float]:
    """Flat numeric values to store: the FEE's last HK packet and the DPU's counters."""
    values: dict[str, int | float] = {
        "dpu_processor_up": int(bool(supervision.get("up"))),
        "dpu_processor_restarts": int(supervision.get("restarts", 0)),
    }
    if processor is None:
        return values
    for name, value in (processor.get("housekeeping") or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            values[str(name)] = value
    counters = processor.get("counters") or {}
    for name, key in _DPU_COUNTERS.items():
        if isinstance(counters.get(key), int):
            values[name] = counters[key]
    writer = processor.get("writer") or {}
    if isinstance(writer.get("frames_failed"), int):
        values["dpu_frames_failed"] = writer["frames_failed"]
    lag = processor.get("writer_lag_s")
    if isinstance(lag, int | float):
        values["dpu_writer_lag_s"] = float(lag)
    values["dpu_writer_lagging"] = int(bool(processor.get("lagging")))
    return values
