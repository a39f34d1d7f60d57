"""What the scenario tests' rules run, imported by name as a user's package would be."""

from __future__ import annotations

import enum
import queue
import threading
from typing import Any

from controlroom.obs import building_block, current_observation
from controlroom.obs.task import task
from controlroom.rpc import Proxy

# What the actions did, in order: (action, arguments, obsid of the observation they ran in).
DONE: queue.SimpleQueue[tuple[str, dict[str, Any], str | None]] = queue.SimpleQueue()
# Set by a test to let `wait_for_release` return.
RELEASE = threading.Event()


def _obsid() -> str | None:
    running = current_observation()
    return running.obsid if running is not None else None


@building_block
def cool_down(*, kelvin: float) -> None:
    """Bring the bench down to a temperature (here: record the call)."""
    DONE.put(("cool_down", {"kelvin": kelvin}, _obsid()))


def record(label: str = "fired") -> str:
    """A plain function."""
    DONE.put(("record", {"label": label}, _obsid()))
    return label


def wait_for_release() -> None:
    """A firing that runs until the test lets it go."""
    DONE.put(("wait_for_release", {}, _obsid()))
    RELEASE.wait(10.0)


def broken() -> None:
    """An action that always fails."""
    raise RuntimeError("the heater is unplugged")


NOT_CALLABLE = 42


class Mode(enum.Enum):
    """A task argument the panel sends by name."""

    SLOW = "slow"
    FAST = "fast"


@task(display_name="Set mode")
def set_mode(*, mode: Mode = Mode.SLOW, repeat: int = 1) -> None:
    """A task: its arguments arrive coerced as the web panel's form would send them."""
    DONE.put(("set_mode", {"mode": mode, "repeat": repeat}, _obsid()))


def set_offset_of(endpoint: str, offset: float) -> None:
    """Command a server through a proxy of its own, as a lab's rule does."""
    with Proxy(endpoint, timeout=5.0) as device:
        device.call("set_offset", offset)
    DONE.put(("set_offset_of", {"offset": offset}, _obsid()))
