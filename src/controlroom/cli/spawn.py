"""The CLI's side of child processes: failures said as :class:`CliError`, and its signals.

Starting, waiting for and stopping children is :mod:`controlroom.rpc.child`;
here a child that is not ready, or a process that will not stop, becomes a
message for the user, and SIGTERM is made to clean up like Ctrl-C.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import NoReturn, TypeVar

import psutil

from controlroom.cli.errors import CliError
from controlroom.rpc.child import STOP_GRACE_S, Child, NotReady, stop_process

T = TypeVar("T")

READY_TIMEOUT_S = 30.0


def wait_ready(child: Child, parse: Callable[[str], T | None], timeout: float) -> T:
    """The first stdout line ``parse`` accepts; a clear error if the child dies or stalls."""
    try:
        return child.wait_ready(parse, timeout)
    except NotReady as exc:
        raise CliError(str(exc), exc.details) from None


def stop_pid(process: psutil.Process, grace: float = STOP_GRACE_S) -> None:
    """Stop a detached process by PID: SIGTERM, wait, SIGKILL."""
    if not stop_process(process, grace):
        raise CliError(f"process {process.pid} did not exit even after SIGKILL")


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Make SIGTERM act like Ctrl-C, so one ``finally`` cleans up after either."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while children are being stopped, so none is left behind."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
