"""Starting child processes, waiting for their ready line, and stopping them.

A child says it is ready by printing one line on stdout (``READY ...``). The
parent waits for that line against a deadline -- never a fixed sleep -- and
notices at once when the child exits first. Stopping goes by handle or PID:
SIGTERM, a grace period, SIGKILL only as the last resort.
"""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, NoReturn, TypeVar

import psutil

from controlroom.cli.errors import CliError

T = TypeVar("T")

READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0
_POLL_S = 0.02  # how often a process that is not our child is checked for exit


@dataclass
class Child:
    """A started process, with where its stderr goes (None: our own stderr)."""

    what: str  # for messages: "tempctl simulator", "dummy control server"
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    log_offset: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr_tail(self, lines: int = 5) -> list[str]:
        """The last lines this child wrote to its log (not older runs in the same file)."""
        if self.log_path is None:
            return []
        try:
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()][-lines:]

    def release(self) -> None:
        """Stop listening to the child's stdout (it has said all we wait for)."""
        if self.process.stdout is not None:
            self.process.stdout.close()


def module_argv(module: str, *args: str) -> list[str]:
    """Run ``python -m module`` with this very interpreter (the same venv)."""
    return [sys.executable, "-m", module, *args]


def spawn(
    what: str,
    argv: Sequence[str],
    *,
    log_path: Path | None,
    detached: bool,
    env: Mapping[str, str] | None = None,
) -> Child:
    """Start ``argv`` with stdout piped (for the ready line) and stderr in ``log_path``.

    ``detached`` puts the child in its own session so it outlives us and the
    terminal; otherwise it gets its own process group, so Ctrl-C reaches only
    us and we stop the children ourselves, in the right order.
    """
    if log_path is None:
        return Child(what, _popen(argv, None, detached, env))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        offset = log.tell()
        return Child(what, _popen(argv, log, detached, env), log_path, offset)


def _popen(
    argv: Sequence[str], stderr: IO[bytes] | None, detached: bool, env: Mapping[str, str] | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=None if env is None else dict(env),
        start_new_session=detached,
        process_group=None if detached else 0,
    )


def wait_ready(child: Child, parse: Callable[[str], T | None], timeout: float) -> T:
    """The first stdout line ``parse`` accepts; a clear error if the child dies or stalls."""
    try:
        return _read_ready(child, parse, timeout)
    except KeyboardInterrupt:
        stop_child(child)  # nobody would know about it otherwise
        raise


def _read_ready(child: Child, parse: Callable[[str], T | None], timeout: float) -> T:
    stdout = child.process.stdout
    assert stdout is not None, "spawn() always pipes stdout"
    deadline = time.monotonic() + timeout
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(stdout.fileno(), selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(remaining):
                continue
            chunk = os.read(stdout.fileno(), 4096)
            if not chunk:
                _exited_early(child)
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                parsed = parse(line.decode(errors="replace").strip())
                if parsed is not None:
                    return parsed
    stop_child(child)
    raise CliError(
        f"{child.what} was not ready within {timeout:g} s, so it was stopped",
        child.stderr_tail(),
    )


def _exited_early(child: Child) -> NoReturn:
    try:
        code = child.process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:  # closed its stdout but lives on: not usable either
        code = stop_child(child)
    tail = child.stderr_tail()
    reason = f": {tail[-1]}" if tail else ""
    raise CliError(f"{child.what} exited with code {code} before it was ready{reason}", tail[:-1])


def stop_child(child: Child, grace: float = STOP_GRACE_S) -> int:
    """Stop a child by its handle: SIGTERM, wait, SIGKILL; returns its exit code."""
    process = child.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(grace)
    child.release()
    return process.returncode


def find_process(pid: int, create_time: float) -> psutil.Process | None:
    """The live process ``pid`` if it is still the one started at ``create_time``.

    Checking the start time means a PID the OS has recycled is never taken for ours.
    """
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - create_time) > 0.01 or _gone(process):
            return None
    except psutil.Error:
        return None
    return process


def wait_gone(process: psutil.Process, timeout: float) -> bool:
    """Wait until ``process`` (not necessarily our child) has exited."""
    deadline = time.monotonic() + timeout
    while not _gone(process):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)  # no portable exit notification for a process we did not start
    return True


def wait_exit(process: psutil.Process, timeout: float) -> bool:
    """Like :func:`wait_gone`, but asleep in the kernel until ``process`` exits.

    For a watcher that waits for hours: on Linux a pidfd wakes it at the exit
    itself, so it neither polls nor notices late; elsewhere it polls.
    """
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux, or it is gone already
        return wait_gone(process, timeout)
    try:
        if _gone(process):  # checked after the open: the pidfd is of this very process
            return True
        readable, _, _ = select.select([pidfd], [], [], timeout)
        return bool(readable) or _gone(process)
    finally:
        os.close(pidfd)


def stop_pid(process: psutil.Process, grace: float = STOP_GRACE_S) -> None:
    """Stop a detached process by PID: SIGTERM, wait, SIGKILL."""
    with contextlib.suppress(psutil.NoSuchProcess):
        process.terminate()
    if wait_gone(process, grace):
        return
    with contextlib.suppress(psutil.NoSuchProcess):
        process.kill()
    if not wait_gone(process, grace):
        raise CliError(f"process {process.pid} did not exit even after SIGKILL")


def _gone(process: psutil.Process) -> bool:
    # A zombie has exited; it only waits for a parent (maybe not us) to reap it.
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


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
