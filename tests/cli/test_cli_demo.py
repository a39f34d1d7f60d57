"""``controlroom demo`` as `make demo` runs it: children up, live status, clean stop."""

from __future__ import annotations

import importlib
import signal
from pathlib import Path

import psutil
import pytest

from controlroom.rpc.child import Child, module_argv

pytestmark = pytest.mark.integration

READY_S = 60.0  # a simulator and two servers start in turn; normally a few seconds


def _demo_devices() -> set[str]:
    """The devices the demo can show here (tempctl once its driver is in)."""
    tempctl = importlib.import_module("controlroom.devices.tempctl")
    return {"dummy", "tempctl"} if hasattr(tempctl, "TempCtlController") else {"dummy"}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_demo_shows_live_status_and_stops_everything(local_settings: Path, signum: int) -> None:
    child = Child.spawn("demo", module_argv("controlroom.cli.main", "demo"), log_path=None)
    waiting = _demo_devices()

    def all_up(line: str) -> bool | None:
        # Without a terminal the demo prints "<device> <state> <values>" lines.
        name, _, rest = line.partition(" ")
        if rest.split()[:1] == ["up"] and "=" in rest:
            waiting.discard(name)
        return True if not waiting else None

    try:
        child.wait_ready(all_up, READY_S)
        children = psutil.Process(child.pid).children(recursive=True)
        assert len(children) == len(_demo_devices()) + ("tempctl" in _demo_devices())
        child.process.send_signal(signum)
        assert child.process.wait(READY_S) == 0
        _, alive = psutil.wait_procs(children, timeout=5.0)
        assert not alive, f"the demo left {alive} running"
    finally:
        child.stop()
