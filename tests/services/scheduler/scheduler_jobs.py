"""Jobs for the scheduler tests, imported by name as the jobs of a user's package would be."""

from __future__ import annotations

import queue
from typing import Any

from controlroom.obs import building_block, current_observation
from controlroom.rpc import Proxy

# What the jobs did, in order: (job, arguments, obsid of the observation they ran in).
DONE: queue.SimpleQueue[tuple[str, dict[str, Any], str | None]] = queue.SimpleQueue()


def _obsid() -> str | None:
    running = current_observation()
    return running.obsid if running is not None else None


@building_block
def warm_up(*, output: int, target: float) -> None:
    """Ramp an output to a temperature (here: record the call)."""
    DONE.put(("warm_up", {"output": output, "target": target}, _obsid()))


def save_snapshot(label: str = "nightly") -> None:
    """A plain task function."""
    DONE.put(("save_snapshot", {"label": label}, _obsid()))


def broken() -> None:
    """A task that always fails."""
    raise RuntimeError("the bench is unplugged")


def set_bench(endpoint: str, value: float) -> None:
    """Command a server through a proxy of its own, as a lab's job does."""
    with Proxy(endpoint, timeout=5.0) as bench:
        bench.call("set_offset", value)
    DONE.put(("set_bench", {"value": value}, _obsid()))
