"""Child processes: started in a group of their own, waited for by a ready line, stopped.

A child says it is ready by printing one line on stdout (the ``READY {json}``
line of :mod:`controlroom.rpc.process`, or a simulator's ``READY host port``).
The parent waits for that line against a deadline -- never a fixed sleep --
and notices at once when the child exits first. The child's stderr goes to a
log file, after a header line that marks each run, so the tail of a crash
never mixes with older runs; once it is ready its stdout is either let go or
drained to ``<log>.stdout.log``, so a chatty child never blocks on a full pipe.

Every child leads a process group of its own (a session of its own when it is
detached to outlive us), so Ctrl-C on the parent never reaches it, and a stop
reaches whatever it started: SIGTERM to the group, a grace period, SIGKILL
only as the last resort.

A parent that was killed leaves its children running. The next one finds them
again by PID, the PID's start time (a recycled PID is never taken for ours)
and argv (:func:`live_process`), and adopts them: an :class:`AdoptedRun` has
the interface of a :class:`Child`, but it is not our child, so its exit is
watched rather than waited for and its exit code is unknown.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import selectors
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

import psutil

if TYPE_CHECKING:
    from controlroom.rpc.factory import ProcessFactory

T = TypeVar("T")

STOP_GRACE_S = 5.0
_SLICE_S = 0.1  # how often a wait for the ready line looks at its stop flag
_TAIL_BYTES = 64 * 1024  # how far back from the end of a log a tail is read
_POLL_S = 0.02  # how often a process is checked for exit where there is no pidfd
_SAME_START_S = 0.01  # start times closer than this are of the same process


class NotReady(RuntimeError):
    """A child exited, or stayed silent too long, before its ready line; it has been stopped.

    ``details`` are the last lines of its stderr that the message does not quote.
    """

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


def module_argv(module: str, *args: str) -> list[str]:
    """Run ``python -m module`` with this very interpreter (the same venv)."""
    return [sys.executable, "-m", module, *args]


class Running(Protocol):
    """What a :class:`Child` uses of its process: a ``subprocess.Popen``, or a process the
    factory forked for us (:class:`~controlroom.rpc.factory.ForkedProcess`)."""

    pid: int
    stdout: IO[bytes] | None
    returncode: int | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int | None: ...


class Child:
    """A process we started, and the log its stderr goes to (None: our own stderr)."""

    def __init__(
        self,
        what: str,
        process: Running,
        log_path: Path | None = None,
        offset: int = 0,
    ) -> None:
        self.what = what  # for messages: "tempctl simulator", "dummy control server"
        self.process = process
        self.log_path = log_path
        self.offset = offset  # where this run's stderr starts in the log
        self.timed_out = False
        self._pending = b""  # stdout read past the ready line, for the stdout log

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def spawn(
        cls,
        what: str,
        argv: Sequence[str],
        *,
        log_path: Path | None,
        env: Mapping[str, str] | None = None,
        detached: bool = False,
        factory: ProcessFactory | None = None,
    ) -> Child:
        """Start ``argv`` with stdout piped (for the ready line) and stderr in ``log_path``.

        ``detached`` puts the child in a session of its own, so that it outlives
        us and the terminal; otherwise it gets a process group of its own, so
        Ctrl-C reaches only us and we stop our children ourselves, in order.
        A ``factory`` forks the child from its preloaded parent when it can
        (the same interpreter and environment, a controlroom module).
        """
        if log_path is None:
            return cls(what, _popen(argv, None, env, detached))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            log.write(f"--- {stamp} start: {shlex.join(argv)}\n".encode())
            log.flush()
            offset = log.tell()
            if factory is not None and not detached and factory.accepts(argv, env):
                forked = _forked(factory, argv, log)
                if forked is not None:
                    return cls(what, forked, log_path, offset)
            return cls(what, _popen(argv, log, env, detached), log_path, offset)

    def read_ready(
        self,
        parse: Callable[[str], T | None],
        timeout: float,
        stopping: threading.Event | None = None,
    ) -> T | None:
        """The first stdout line ``parse`` accepts; None on exit, timeout or ``stopping``.

        After a timeout ``timed_out`` is set; the child is left as it is.
        """
        stdout = self.process.stdout
        assert stdout is not None, "spawn() always pipes stdout"
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(stdout.fileno(), selectors.EVENT_READ)
            while stopping is None or not stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.timed_out = True
                    return None
                if not selector.select(min(remaining, _SLICE_S)):
                    continue
                chunk = os.read(stdout.fileno(), 4096)
                if not chunk:
                    return None  # exited (or closed its stdout) before it was ready
                found = self._scan(chunk, parse)
                if found is not None:
                    return found
        return None

    def _scan(self, chunk: bytes, parse: Callable[[str], T | None]) -> T | None:
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        for index, line in enumerate(lines):
            found = parse(line.decode(errors="replace").strip())
            if found is not None:
                rest = lines[index + 1 :]
                self._pending = b"".join(part + b"\n" for part in rest) + self._pending
                return found
        return None

    def wait_ready(self, parse: Callable[[str], T | None], timeout: float) -> T:
        """The first stdout line ``parse`` accepts; :class:`NotReady` if the child dies or
        stalls first. A child that is not ready, or that Ctrl-C interrupts, is stopped."""
        try:
            found = self.read_ready(parse, timeout)
            if found is None:
                raise self._not_ready(timeout)
        except KeyboardInterrupt:
            self.stop()  # nobody would know about it otherwise
            raise
        return found

    def _not_ready(self, timeout: float) -> NotReady:
        if self.timed_out:
            self.stop()
            message = f"{self.what} was not ready within {timeout:g} s, so it was stopped"
            return NotReady(message, self.stderr_tail())
        with contextlib.suppress(subprocess.TimeoutExpired):  # then it closed its stdout
            self.process.wait(STOP_GRACE_S)  # but lives on: not usable either
        code = self.stop()
        tail = self.stderr_tail()
        reason = f": {tail[-1]}" if tail else ""
        message = f"{self.what} exited with code {code} before it was ready{reason}"
        return NotReady(message, tail[:-1])

    def release(self) -> None:
        """Stop listening to its stdout (it has said all we wait for)."""
        if self.process.stdout is not None:
            self.process.stdout.close()

    def drain(self) -> int | None:
        """Copy stdout to ``<log>.stdout.log`` until it closes; then wait for the exit code."""
        stdout = self.process.stdout
        assert stdout is not None, "spawn() always pipes stdout"
        target = os.devnull if self.log_path is None else self.log_path.with_suffix(".stdout.log")
        with open(target, "ab") as out:
            out.write(self._pending)
            while chunk := os.read(stdout.fileno(), 65536):
                out.write(chunk)
                out.flush()
        stdout.close()
        return self.process.wait()

    def terminate(self, grace: float = STOP_GRACE_S) -> int | None:
        """SIGTERM to the process group, ``grace`` seconds, then SIGKILL; its exit code.

        Safe from another thread while one reads or drains the child's stdout.
        """
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.process.wait(grace)
        self.signal(signal.SIGKILL)  # whatever it started and left in its group
        return self.process.returncode

    def stop(self, grace: float = STOP_GRACE_S) -> int | None:
        """:meth:`terminate` it and let go of its stdout; its exit code."""
        code = self.terminate(grace)
        self.release()
        return code

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the child's process group (its PID is the group's id)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def stderr_tail(self, lines: int = 5) -> list[str]:
        """The last ``lines`` non-empty lines this run wrote to stderr."""
        return _tail(self.log_path, self.offset, lines)


def _popen(
    argv: Sequence[str],
    stderr: IO[bytes] | None,
    env: Mapping[str, str] | None,
    detached: bool,
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


def _forked(factory: ProcessFactory, argv: Sequence[str], log: IO[bytes]) -> Running | None:
    """``argv`` forked by ``factory``; None (and a warning) if the factory cannot."""
    from controlroom.rpc.factory import FactoryError

    try:
        return factory.spawn(argv, log.fileno())
    except (FactoryError, OSError) as exc:
        logging.getLogger(__name__).warning("%s; started the usual way instead", exc)
        return None


class AdoptedRun:
    """A child an earlier parent started, found by :func:`live_process`; used as a :class:`Child`.

    ``info`` is what its ready line said to that parent.
    """

    timed_out = False

    def __init__(
        self, process: psutil.Process, info: dict[str, str], log_path: Path, offset: int
    ) -> None:
        self.process = process
        self.info = info
        self.log_path = log_path
        self.offset = offset

    @property
    def pid(self) -> int:
        return self.process.pid

    def read_ready(self, *_: Any) -> dict[str, str]:
        return self.info  # it said so to the parent that started it

    def drain(self) -> None:
        """Wait until it exits; its exit code is unknown (it is not our child)."""
        wait_gone(self.process, None)

    def terminate(self, grace: float = STOP_GRACE_S) -> None:
        """SIGTERM to its process group, ``grace`` seconds, then SIGKILL."""
        stop_process(self.process, grace)

    def stderr_tail(self, lines: int = 5) -> list[str]:
        return _tail(self.log_path, self.offset, lines)


def start_time(pid: int) -> float | None:
    """When process ``pid`` started, as :func:`live_process` compares it; None if it is gone."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def live_process(
    pid: int, create_time: float, argv: Sequence[str] | None = None
) -> psutil.Process | None:
    """The live process ``pid`` if it is still the one started at ``create_time``
    (and still runs ``argv``, when given)."""
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - create_time) >= _SAME_START_S or _gone(process):
            return None
        if argv is not None and process.cmdline() != list(argv):
            return None
    except psutil.Error:
        return None
    return process


def stop_process(process: psutil.Process, grace: float = STOP_GRACE_S) -> bool:
    """Stop a process by PID (not our child, or not known as one here): SIGTERM,
    ``grace`` seconds, then SIGKILL; False if it outlived even that."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        _signal(process, signum)
        if wait_gone(process, grace):
            return True
    return False


def _signal(process: psutil.Process, signum: int) -> None:
    """To its process group if it leads one, as our children do; else to it alone."""
    if _gone(process):
        return  # its PID may be another process's by now
    with contextlib.suppress(ProcessLookupError, PermissionError, psutil.NoSuchProcess):
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)


def wait_gone(process: psutil.Process, timeout: float | None) -> bool:
    """Wait until ``process`` (not necessarily our child) has exited; False if
    ``timeout`` passed first.

    On Linux a pidfd wakes us at the exit itself, so a watch of hours neither
    polls nor notices late; elsewhere we poll. (psutil's own wait takes a
    zombie whose new parent has not reaped it yet for a live process.)
    """
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux, or it is gone already
        return _poll_gone(process, timeout)
    try:
        if _gone(process):  # checked after the open: the pidfd is of this very process
            return True
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(None if timeout is None else timeout * 1000)) or _gone(process)
    finally:
        os.close(pidfd)


def _poll_gone(process: psutil.Process, timeout: float | None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    while not _gone(process):
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)  # no portable exit notification for a process we did not start
    return True


def _gone(process: psutil.Process) -> bool:
    # A zombie has exited; it only waits for a parent (maybe not us) to reap it.
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _tail(log_path: Path | None, offset: int, lines: int) -> list[str]:
    """The last ``lines`` non-empty lines of ``log_path`` written after ``offset``."""
    if log_path is None or lines <= 0:
        return []
    try:
        with log_path.open("rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(offset, size - _TAIL_BYTES))
            text = log.read().decode(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]
