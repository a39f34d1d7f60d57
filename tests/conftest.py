"""Fixtures shared by the whole suite.

Every test is checked for leftover child processes: whatever a test starts it
must stop by its own handle or PID.
"""

from __future__ import annotations

from collections.abc import Iterator

import psutil
import pytest
import zmq

from controlroom.rpc import curve

pytest_plugins = ["curvekeys"]

_GRACE_S = 5.0


@pytest.fixture(autouse=True)
def process_context_left_plain() -> Iterator[None]:
    """A test that secured the process-wide ZeroMQ context (a CLI run with keys) undoes it."""
    yield
    curve.unsecure(zmq.Context.instance())


@pytest.fixture(autouse=True)
def no_process_left_behind() -> Iterator[None]:
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    yield
    leftover = [p for p in me.children(recursive=True) if p.pid not in before]
    if not leftover:
        return
    # A child that is already exiting gets a moment to finish; a live one is a leak.
    _, alive = psutil.wait_procs(leftover, timeout=_GRACE_S)
    for proc in alive:
        proc.kill()
    psutil.wait_procs(alive, timeout=_GRACE_S)
    if alive:
        names = ", ".join(f"{p.pid}" for p in alive)
        pytest.fail(f"test left processes running: {names}")
