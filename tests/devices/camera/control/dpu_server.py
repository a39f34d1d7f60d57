"""The DPU control server for tests: the FEE simulator process and a DpuController, served.

The FEE simulator runs as a process at ``SPEED`` (a 312 ms sync period); the
controller is served in-process by a real control server and starts its DPU
processor as a child process, as in a lab. Everything is stopped by its
handle at the end. Readouts are partial (``SMALL``), so frames stay small.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CAMERA_TESTS = Path(__file__).resolve().parents[1]
for _folder in (_CAMERA_TESTS, _CAMERA_TESTS / "dpu"):
    if str(_folder) not in sys.path:
        sys.path.append(str(_folder))  # the FEE and processor helpers of the DPU tests
from dpu_process import (  # noqa: E402
    SEED,
    SMALL,
    SPEED,
    WAIT_S,
    PartialReadout,
    assert_pixel_exact,
    fee_process,
    image_frames,
    in_flight,
    into_a_readout,
    last_file,
    whole_image_frames,
)

from controlroom.device.proxy import DeviceProxy, make_proxy  # noqa: E402
from controlroom.device.serving import DeviceService  # noqa: E402
from controlroom.devices.camera.control import DpuController  # noqa: E402
from controlroom.rpc import ControlServer  # noqa: E402
from controlroom.testing.waiting import wait_until  # noqa: E402

__all__ = [
    "SMALL",
    "SPEED",
    "WAIT_S",
    "PartialReadout",
    "assert_pixel_exact",
    "image_frames",
    "in_flight",
    "into_a_readout",
    "last_file",
    "whole_image_frames",
]

PROXY_TIMEOUT_S = 10.0  # a write waits one sync period (312 ms) here; this bounds a failure


def geometry(readout: PartialReadout) -> dict[str, int]:
    """``full_image`` keyword arguments that select ``readout``."""
    names = ("v_start", "v_end", "h_end", "sensor_sel")
    return {name: getattr(readout, name) for name in names}


@dataclass(frozen=True)
class Camera:
    """A served DPU controller on a running FEE simulator."""

    root: Path
    controller: DpuController
    server: ControlServer

    def proxy(self) -> DeviceProxy:
        return make_proxy(DpuController, self.server.endpoint, timeout=PROXY_TIMEOUT_S)

    def status(self) -> dict[str, Any]:
        return self.controller.status()


@contextmanager
def camera_server(folder: Path, **options: Any) -> Iterator[Camera]:
    """The FEE simulator, and a control server of a DpuController on it; stopped at the end."""
    fee = fee_process("tcp://127.0.0.1:0", folder / "fee.log", speed=SPEED, seed=SEED)
    with fee as (_, link):
        root = folder / "frames"
        controller = DpuController(link, root=str(root), speed=SPEED, **options)
        server = ControlServer("dpu", DeviceService(controller), status_period_s=0.1)
        server.start()
        try:
            assert wait_until(lambda: controller.status()["synced"], WAIT_S), controller.status()
            yield Camera(root, controller, server)
        finally:
            server.stop()


def set_registers_at_once(camera: Camera, writes: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Each write from a thread with its own proxy, all released together; the replies in order."""
    proxies = [camera.proxy() for _ in writes]
    go = threading.Barrier(len(writes), timeout=WAIT_S)
    replies: dict[int, Any] = {}

    def caller(index: int) -> None:
        name, value = writes[index]
        go.wait()
        try:
            replies[index] = proxies[index].set_register(name, value)
        except Exception as error:  # the test reports it with the others
            replies[index] = error

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(len(writes))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT_S)
    finally:
        for proxy in proxies:
            proxy.close()
    failed = {i: r for i, r in replies.items() if isinstance(r, Exception)}
    assert not failed and len(replies) == len(writes), (failed, sorted(replies))
    return [replies[i] for i in range(len(writes))]
