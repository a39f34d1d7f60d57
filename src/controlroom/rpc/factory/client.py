"""The manager's side of the factory: start it, ask it to fork, hear of exits.

:class:`ProcessFactory` starts the factory process on first use and keeps a
reader thread on the socket pair. A child it forked is a
:class:`ForkedProcess`, which has the part of ``subprocess.Popen``'s
interface that :class:`~controlroom.rpc.child.Child` uses, so a forked child
is read, waited for and stopped like a spawned one. Its exit code comes from
the factory (the child's parent); should the factory die first, the
children it leaves are watched by PID and their exit codes are unknown.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import IO

import psutil

from controlroom.rpc.child import wait_gone
from controlroom.rpc.factory.messages import FactoryError, Message, close_all, receive, send

log = logging.getLogger(__name__)

FACTORY_MODULE = "controlroom.rpc.factory"
READY_TIMEOUT_S = 60.0  # preloading on a busy host can take seconds; a hang cannot
REPLY_TIMEOUT_S = 30.0  # a fork takes milliseconds; this bounds a factory that hangs
STOP_TIMEOUT_S = 5.0


class ForkedProcess:
    """A child of the factory, used where :class:`subprocess.Popen` would be."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.stdout: IO[bytes] | None = None  # the read end of its stdout pipe, once attached
        self.returncode: int | None = None  # stays None for an orphan: its code is unknown
        self._done = threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
        return self.returncode

    def exited(self, code: int | None) -> None:
        self.returncode = code
        self._done.set()

    def orphaned(self) -> None:
        """The factory is gone: watch the PID until the process exits (code unknown)."""
        threading.Thread(target=self._watch, name=f"orphan-{self.pid}", daemon=True).start()

    def _watch(self) -> None:
        with contextlib.suppress(psutil.Error):  # gone already
            wait_gone(psutil.Process(self.pid), None)
        self._done.set()


class ProcessFactory:
    """Forks ``python -m controlroom...`` processes from a parent that preloaded ``preload``
    (before its first fork) and ``later`` (one by one, while it has nothing to do).

    ``python`` and ``env`` are the interpreter and environment of the children
    it can stand in for; ``log_path`` takes the factory's own stderr.
    """

    def __init__(
        self,
        python: str,
        preload: Sequence[str] = (),
        *,
        later: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        allow: Sequence[str] = ("controlroom",),
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self.python = python
        self.preload = list(preload)
        self.later = list(later)
        self.env = None if env is None else dict(env)
        self.log_path = log_path
        self.allow = list(allow)
        self.ready_timeout_s = ready_timeout_s
        self.broken = ""  # why it could not start: from then on every process is spawned
        self.preloaded: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._pending: dict[int, Future[ForkedProcess]] = {}
        self._children: dict[int, ForkedProcess] = {}
        self._closing = False

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def accepts(self, argv: Sequence[str], env: Mapping[str, str] | None) -> bool:
        """Whether ``argv`` (with ``env``) is a process this factory can fork."""
        if self.broken or self._closing or len(argv) < 3:
            return False
        module = argv[2].split(".")[0]
        same_env = (None if env is None else dict(env)) == self.env
        return argv[0] == self.python and argv[1] == "-m" and module in self.allow and same_env

    def prepare(self) -> None:
        """Start the factory now, in the background, so the first fork finds it ready
        (its preloading runs beside whatever the caller does meanwhile)."""
        threading.Thread(target=self._prepare, name="factory-start", daemon=True).start()

    def _prepare(self) -> None:
        with self._lock:
            try:
                self._started()
            except FactoryError as exc:
                log.warning("%s; processes are started the usual way", exc)

    def spawn(self, argv: Sequence[str], stderr: int) -> ForkedProcess:
        """Fork ``argv`` with its stdout piped to us and its stderr on ``stderr`` (a
        descriptor, still the caller's to close)."""
        readable, writable = os.pipe()
        try:
            child = self._request(argv, writable, stderr)
        except BaseException:
            os.close(readable)
            raise
        finally:
            os.close(writable)  # the child has its own copy now
        child.stdout = os.fdopen(readable, "rb", buffering=0)
        return child

    def _request(self, argv: Sequence[str], stdout: int, stderr: int) -> ForkedProcess:
        with self._lock:
            sock = self._started()
            request = next(self._ids)
            reply: Future[ForkedProcess] = Future()
            self._pending[request] = reply
            try:
                send(sock, {"op": "spawn", "id": request, "argv": list(argv)}, (stdout, stderr))
            except OSError as exc:
                self._pending.pop(request, None)
                raise FactoryError(f"the factory did not take the request: {exc}") from exc
        try:
            return reply.result(REPLY_TIMEOUT_S)
        except FutureTimeout as exc:
            raise FactoryError(f"the factory did not answer in {REPLY_TIMEOUT_S:g} s") from exc
        finally:
            self._pending.pop(request, None)

    def close(self) -> None:
        """Stop the factory (its children run on); idempotent."""
        with self._lock:
            self._closing = True
            sock, process, reader = self._sock, self._process, self._reader
        if sock is not None:
            with contextlib.suppress(OSError):  # the reader may have closed it just now
                sock.shutdown(socket.SHUT_RDWR)  # the factory sees the end and exits
        if reader is not None:
            reader.join(STOP_TIMEOUT_S)
        if process is not None:
            _stop(process)

    # -- starting -----------------------------------------------------------------

    def _started(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        if self._closing:
            raise FactoryError("the factory is closed")
        try:
            self._sock, self._process = self._launch()
        except (OSError, FactoryError) as exc:
            self.broken = str(exc)
            raise FactoryError(f"the process factory could not start: {exc}") from exc
        self._reader = threading.Thread(
            target=self._read, args=(self._sock, self._process), name="factory-reader", daemon=True
        )
        self._reader.start()
        return self._sock

    def _launch(self) -> tuple[socket.socket, subprocess.Popen[bytes]]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [self.python, "-m", FACTORY_MODULE, "--fd", str(theirs.fileno())]
        argv += [arg for name in self.allow for arg in ("--allow", name)]
        argv += ["--preload", *self.preload, "--later", *self.later]
        stderr = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            stderr = self.log_path.open("ab")
        try:
            process = subprocess.Popen(
                argv,
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=self.env,
                process_group=0,  # Ctrl-C on the manager's terminal is not for it
            )
        finally:
            theirs.close()
            if stderr is not None:
                stderr.close()
        try:
            self._await_ready(ours)
        except (OSError, FactoryError):
            ours.close()
            _stop(process)
            raise
        return ours, process

    def _await_ready(self, sock: socket.socket) -> None:
        sock.settimeout(self.ready_timeout_s)
        try:
            message = receive(sock)
        except TimeoutError as exc:
            raise FactoryError(f"not ready within {self.ready_timeout_s:g} s") from exc
        sock.settimeout(None)
        if message is None:
            raise FactoryError("it exited before it was ready (see its log)")
        if message.op != "ready":
            raise FactoryError(str(message.fields.get("error") or f"it said {message.op!r}"))
        self.preloaded = [str(name) for name in message.fields.get("preloaded") or []]
        log.info(
            "process factory ready (pid %s, %d modules preloaded)",
            message.fields.get("pid"),
            len(self.preloaded),
        )
        for name, error in dict(message.fields.get("failed") or {}).items():
            log.warning("the process factory could not preload %s: %s", name, error)

    # -- the reader thread ---------------------------------------------------------

    def _read(self, sock: socket.socket, process: subprocess.Popen[bytes]) -> None:
        while True:
            try:
                message = receive(sock)
            except FactoryError as exc:
                log.warning("the process factory sent something unreadable: %s", exc)
                continue
            except OSError:
                message = None
            if message is None:
                break
            close_all(message.fds)  # the factory never sends any
            self._take(message)
        self._lost(sock, process)

    def _take(self, message: Message) -> None:
        fields = message.fields
        if message.op == "spawned":
            child = ForkedProcess(int(fields["pid"]))
            self._children[child.pid] = child  # before any report of its exit is read
            self._resolve(fields.get("id"), child=child)
        elif message.op == "refused":
            self._resolve(fields.get("id"), error=str(fields.get("error")))
        elif message.op == "failed":
            self.broken = str(fields.get("error"))
            log.warning("the process factory stopped: %s; processes are spawned", self.broken)
        elif message.op == "exited":
            gone = self._children.pop(int(fields["pid"]), None)
            if gone is not None:
                gone.exited(int(fields["code"]))

    def _resolve(
        self, request: object, *, child: ForkedProcess | None = None, error: str = ""
    ) -> None:
        reply = self._pending.get(request) if isinstance(request, int) else None
        if reply is None:
            return
        if child is not None:
            reply.set_result(child)
        else:
            reply.set_exception(FactoryError(f"the factory refused: {error}"))

    def _lost(self, sock: socket.socket, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            if self._sock is sock:
                self._sock = None
            closing = self._closing
        if not closing:
            log.warning("the process factory exited; the next process starts a new one")
        for reply in list(self._pending.values()):
            if not reply.done():
                reply.set_exception(FactoryError("the factory exited"))
        for child in list(self._children.values()):
            child.orphaned()
        self._children.clear()
        sock.close()
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)
