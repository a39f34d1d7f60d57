"""Helpers for SpaceWire link tests: a connected pair of links, a peer in a thread."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from controlroom.device.spacewire import MemoryTarget, SpaceWireOverZeroMQ

_JOIN_S = 10.0


@contextmanager
def link_pair(
    scheme: str = "tcp", **options: Any
) -> Iterator[tuple[SpaceWireOverZeroMQ, SpaceWireOverZeroMQ]]:
    """(dpu, fee): the FEE side binds, the DPU side connects; both configured (link up)."""
    with tempfile.TemporaryDirectory(prefix="spw") as folder:  # ipc paths must stay short
        endpoint = "tcp://127.0.0.1:0" if scheme == "tcp" else f"ipc://{folder}/link"
        with SpaceWireOverZeroMQ(endpoint, bind=True, link_timeout_s=_JOIN_S, **options) as fee:
            with SpaceWireOverZeroMQ(
                fee.endpoint, bind=False, link_timeout_s=_JOIN_S, **options
            ) as dpu:
                dpu.configure()
                fee.configure()
                yield dpu, fee


@contextmanager
def running(work: Callable[[], object]) -> Iterator[None]:
    """Run ``work`` in a thread for the block; its exception, if any, fails the test."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported in the test's thread below
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(_JOIN_S)
        assert not thread.is_alive(), "the peer thread did not finish"
    if errors:
        raise errors[0]


@contextmanager
def serving(target: MemoryTarget, link: SpaceWireOverZeroMQ) -> Iterator[None]:
    """``target`` answers the RMAP commands arriving on ``link`` for the block."""
    stop = threading.Event()
    with running(lambda: target.serve(link, stop, poll_s=0.02)):
        try:
            yield
        finally:
            stop.set()
