"""What every process entry shares: log set-up, ready line, stop signals, one-line failures."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import NoReturn, TextIO

import zmq

from controlroom.config.settings import SettingsError
from controlroom.device import DeviceError
from controlroom.rpc import RpcError
from controlroom.rpc.hosts import UnknownHost
from controlroom.rpc.process import ReadyThenLog
from controlroom.wire import WireError


class ProcessError(Exception):
    """A process that would not start, stop or be recorded; ``details`` go below the message."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    ProcessError,
    SettingsError,
    DeviceError,
    RpcError,
    WireError,
    OSError,
    zmq.ZMQError,  # an endpoint already in use, an invalid address
    UnknownHost,  # CONTROLROOM_HOST names no host of the Settings
)
"""Failures with a message meant for the operator; anything else is a bug."""
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_level(debug: bool) -> int:
    return logging.DEBUG if debug else logging.INFO


def configure_logging(level: int) -> None:
    """Records on stderr: stdout carries the ready line the parent waits for."""
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)


def ready_stream(handoff_stdout: bool) -> TextIO:
    """Where the ready line goes; with ``handoff_stdout``, stdout joins stderr after it
    (a parent that detaches us stops reading our stdout there)."""
    return ReadyThenLog() if handoff_stdout else sys.stdout


def stop_on_signals(stopping: threading.Event) -> threading.Event:
    """Set ``stopping`` on SIGINT or SIGTERM, so both end the process cleanly."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
    return stopping


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


def common_options() -> argparse.ArgumentParser:
    """The options every entry takes, as a parent parser."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--debug", action="store_true", help="debug logs")
    parser.add_argument(
        "--handoff-stdout", action="store_true", help="after the ready line, stdout goes to stderr"
    )
    return parser


@contextlib.contextmanager
def failures_in_one_line(debug: bool, *expected: type[Exception]) -> Iterator[None]:
    """An expected failure ends the process with one line on stderr and exit code 1, as
    the CLI's do (the parent shows that line); ``debug`` keeps the traceback."""
    try:
        yield
    except (*EXPECTED_ERRORS, *expected) as exc:
        if debug:
            raise
        sys.exit("error: " + (" ".join(str(exc).split()) or type(exc).__name__))
