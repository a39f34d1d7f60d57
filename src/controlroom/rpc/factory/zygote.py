"""The factory process: imports what controlroom processes share once, then forks them.

Started by the process manager with one end of a ``SOCK_SEQPACKET`` socket
pair (see :mod:`.messages`). It imports the modules it is told to preload,
makes sure that left it with one thread and no ZeroMQ context (a fork copies
neither safely), freezes the garbage collector's view of every object so the
children's collections never touch (and so copy) the shared pages, and says
``ready``. Then, for each ``spawn`` request, it forks: the child takes the
two descriptors it was sent as stdout and stderr, leads a process group of
its own and runs ``python -m module args`` as the interpreter would. The
factory reports each child's exit code; it never stops a child itself, and
when the manager's end closes it exits and leaves the children running (a
process manager that crashed adopts them again when it comes back).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import selectors
import socket
import sys
import threading
from collections.abc import Sequence

from controlroom.rpc.factory.job import Job
from controlroom.rpc.factory.messages import (
    FactoryError,
    Message,
    checked_argv,
    close_all,
    receive,
    send,
)


def main(argv: Sequence[str] | None = None) -> int:
    gc.disable()  # from the first import on: a collection would touch every shared object
    args = _parser().parse_args(argv)
    sock = socket.socket(fileno=args.fd)
    preloaded, failed = preload(args.preload)
    reason = unforkable()
    if reason:
        send(sock, {"op": "failed", "error": reason})
        return 1
    gc.collect()
    gc.freeze()
    send(sock, {"op": "ready", "pid": os.getpid(), "preloaded": preloaded, "failed": failed})
    job = Factory(sock, tuple(args.allow), later=args.later).serve()
    if job is None:  # the manager closed its end: we are done, the children run on
        return 0
    job.run()  # in a forked child, with the factory's stack unwound
    return 0


def preload(modules: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Import ``modules``; those that fail are reported, not fatal (the child will say why)."""
    done, failed = [], {}
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # any import error is only reported: the child will say why
            failed[name] = f"{type(exc).__name__}: {exc}"
        else:
            done.append(name)
    return done, failed


def unforkable() -> str:
    """Why this process must not fork (a preloaded module started a thread or a ZeroMQ
    context), or ``""``."""
    if threading.active_count() != 1:
        names = ", ".join(t.name for t in threading.enumerate())
        return f"a preloaded module started threads ({names})"
    zmq = sys.modules.get("zmq")
    if zmq is not None and getattr(zmq.Context, "_instance", None) is not None:
        return "a preloaded module made the global ZeroMQ context"
    return ""


class Factory:
    """The request loop: spawn requests in, ``spawned`` and ``exited`` reports out."""

    def __init__(
        self, sock: socket.socket, allow: tuple[str, ...], *, later: Sequence[str] = ()
    ) -> None:
        self.sock = sock
        self.allow = allow
        self.later = list(later)  # imported one at a time while no request waits
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, int] = {}  # pidfd -> pid

    def serve(self) -> Job | None:
        """Serve until the manager's end closes (None), or return the :class:`Job` to run
        when this process is a newly forked child."""
        self.selector.register(self.sock, selectors.EVENT_READ)
        try:
            while True:
                events = self.selector.select(0 if self.later else None)
                if not events and self.later:
                    self._preload_next()
                for key, _ in events:
                    if key.fileobj is self.sock:
                        outcome = self._request()
                        if isinstance(outcome, Job):
                            return outcome
                        if outcome is False:
                            return None
                    else:
                        self._reap(int(key.fd))
        except OSError:  # the manager's end is broken: as good as closed
            return None

    def _preload_next(self) -> None:
        preload(self.later[:1])  # a failure is the child's to report, if one needs it
        del self.later[:1]
        reason = unforkable()
        if reason:  # forking now would be unsafe: the manager spawns from now on
            send(self.sock, {"op": "failed", "error": f"{reason} (preloading later)"})
            raise SystemExit(f"factory: {reason}")
        gc.collect()
        gc.freeze()

    def _request(self) -> Job | bool | None:
        """A :class:`Job` in a new child; False when the manager is gone; None to go on."""
        try:
            message = receive(self.sock)
        except FactoryError as exc:
            print(f"factory: a request was refused: {exc}", file=sys.stderr, flush=True)
            return None
        if message is None:
            return False
        return self._spawn(message)

    def _spawn(self, message: Message) -> Job | None:
        request = message.fields.get("id")
        try:
            if message.op != "spawn" or not isinstance(request, int):
                raise FactoryError(f"unknown request {message.op!r} (or no id)")
            argv = checked_argv(message.fields)
            self._check_module(argv[2])
            if len(message.fds) != 2:
                raise FactoryError("a spawn request needs two descriptors: stdout and stderr")
        except FactoryError as exc:
            close_all(message.fds)
            send(self.sock, {"op": "refused", "id": request, "error": str(exc)})
            return None
        sys.stdout.flush()
        sys.stderr.flush()  # what is buffered now is ours, not the child's
        pid = os.fork()
        if pid == 0:
            return self._child(argv, message.fds)
        with contextlib.suppress(OSError):  # done here too: the group exists before we reply
            os.setpgid(pid, pid)
        close_all(message.fds)
        pidfd = os.pidfd_open(pid)
        self.children[pidfd] = pid
        self.selector.register(pidfd, selectors.EVENT_READ)
        send(self.sock, {"op": "spawned", "id": request, "pid": pid})
        return None

    def _check_module(self, module: str) -> None:
        parts = module.split(".")
        if not all(part.isidentifier() for part in parts) or parts[0] not in self.allow:
            raise FactoryError(f"module {module!r} is not one this factory may run")

    def _child(self, argv: list[str], fds: tuple[int, ...]) -> Job:
        # Closed through their objects: a bare os.close() would leave the socket object to
        # close the same number again at exit, by then maybe a descriptor of ZeroMQ's.
        self.selector.close()
        self.sock.close()
        return Job(argv, stdout=fds[0], stderr=fds[1], inherited=list(self.children))

    def _reap(self, pidfd: int) -> None:
        pid = self.children.pop(pidfd)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        send(self.sock, {"op": "exited", "pid": pid, "code": os.waitstatus_to_exitcode(status)})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="controlroom.rpc.factory", description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="our end of the socket pair")
    parser.add_argument("--preload", nargs="*", default=[], help="modules to import first")
    parser.add_argument(
        "--later", nargs="*", default=[], help="modules to import while no request waits"
    )
    parser.add_argument(
        "--allow", action="append", default=[], help="top-level package children may run"
    )
    return parser
