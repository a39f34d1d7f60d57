"""The control server: serves one device's commands on a ROUTER socket.

Threads and who owns what:

* the *command loop* owns the ROUTER socket. It answers service commands
  itself and runs device commands inline, one at a time, which keeps the
  round trip as short as a raw ZeroMQ echo plus the codec;
* the *standby* thread watches the loop. When a device command has been
  running for longer than ``takeover_after`` seconds, it borrows the socket
  (the loop releases a lock around every device command) and keeps answering
  ping, info and the other service commands, queuing device commands in order
  until the long one ends;
* a device command may return a ``Future`` and answer later
  (:mod:`controlroom.rpc.deferred`): whichever of those two threads holds the
  socket sends the reply once the future completes;
* the *publisher* polls housekeeping and status at their rates and publishes
  them, with events, on a PUB socket it owns;
* the *notifier*, *events* and *tasks* threads deliver events to listeners,
  run event handlers and run scheduled tasks.

Each of those threads is supervised (:mod:`controlroom.rpc.threads`): a crash
is logged, published as a ``thread_died`` event, listed under
``background_threads`` in ``info`` and ``process_status``, and the loop is
restarted; a thread that keeps crashing is left dead and ``ping`` fails.

The device itself is guarded by one lock, so commands and housekeeping polls
never interleave on the wire to the instrument.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import zmq

from controlroom.rpc import curve
from controlroom.rpc.access import READ, Caller, CallerResolver
from controlroom.rpc.deferred import MAX_DEFERRED, DeferredReplies
from controlroom.rpc.dispatch import Dispatcher, Settled
from controlroom.rpc.endpoints import bind, connectable, split_route
from controlroom.rpc.errors import RpcError
from controlroom.rpc.events import EventHandlers, Handler, Notifier
from controlroom.rpc.frames import recv_frames, recv_frames_and_user, send_frames
from controlroom.rpc.hooks import CommandRecord, Hooks
from controlroom.rpc.lifecycle import Startable
from controlroom.rpc.publisher import EVENT, Publisher
from controlroom.rpc.served import Served
from controlroom.rpc.service import SERVICE_ACCESS, ServiceCommands
from controlroom.rpc.standby import Standby
from controlroom.rpc.tasks import TaskScheduler
from controlroom.rpc.threads import PROCESS, THREAD_DIED, Crash, RestartPolicy, Supervisor
from controlroom.rpc.wakeup import WakePipe
from controlroom.wire import Envelope, ErrorInfo
from controlroom.wire.envelope import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)

# How long the loop waits in its receive before it sleeps in a poll that stop() can end:
# a receive with a timeout is the cheaper wait per message, the poll costs nothing idle.
_POLL_MS = 50
_NOBLOCK = int(zmq.NOBLOCK)
# How long replies sent just before or at stop (quit's, deferred calls answered with
# ServerStopped) may still go out after the socket is closed; closing never waits for them.
_FLUSH_MS = 500
# Gives the CPU to a runnable process between polls of the spin (a no-op when none waits);
# where the OS has no such call the poll simply does not yield.
_yield_cpu: Callable[[], None] = getattr(os, "sched_yield", lambda: None)


# A call as the command observers get it: envelope, start (UTC s), result, error, caller.
Observed = tuple[Envelope, float, Any, ErrorInfo | None, Caller | None]


class ServerBusy(RpcError):
    """Too many device commands are waiting; the request was refused."""


class Cancelled(RpcError):
    """A queued device command was dropped unrun: a stop (or abort...) came before its turn."""


class ControlServer(Startable):
    """Serve ``served`` under ``name`` on ``endpoint``; publish on ``pub_endpoint``."""

    def __init__(
        self,
        name: str,
        served: Served,
        *,
        endpoint: str = "tcp://127.0.0.1:0",
        pub_endpoint: str = "tcp://127.0.0.1:0",
        hk_period_s: float = 1.0,
        status_period_s: float = 0.5,
        takeover_after_s: float = 0.01,
        max_backlog: int = 1000,
        max_deferred: int = MAX_DEFERRED,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        spin_us: float = 100.0,
        context: zmq.Context[Any] | None = None,
        restart_policy: RestartPolicy | None = None,
        unqueued: frozenset[str] = frozenset(),
        callers: CallerResolver | None = None,
    ) -> None:
        self.name = name
        # Read-only device commands answered even while a long one runs: they read only
        # what every command replaces in one step, so they need not wait for the device lock.
        self.unqueued = unqueued
        self.served = served
        # Stop, abort...: run at once, beside a command in progress, ahead of queued ones.
        self.interrupting = frozenset(served.interrupting())
        self.interrupts = 0  # interrupting commands run
        # Two: a second stop (or an abort) still goes out while a first one hangs.
        self._interrupters = ThreadPoolExecutor(2, thread_name_prefix=f"{name}-interrupt")
        self._endpoints = {"commands": endpoint, "publish": pub_endpoint}
        self._context = context or zmq.Context.instance()
        self.device_lock = threading.Lock()
        self.socket_lock = threading.Lock()
        self.stopping = threading.Event()
        self._wake = WakePipe()  # ends the idle loop's sleep at stop()
        self.idle_sleeps = 0  # times the loop slept until a request or stop()
        self._stopped = threading.Event()
        self.backlog: collections.deque[tuple[list[bytes], Envelope, Caller]] = collections.deque()
        self.max_backlog = max_backlog
        self.busy_since: float | None = None
        self.finishing = False
        self.started_at = time.time()
        self.requests = 0
        self.device_commands = 0
        self.hooks = Hooks()
        self.extra_info: dict[str, Any] = {}  # added to info by other layers (metrics URL)
        self.supervisor = Supervisor(name, policy=restart_policy)
        self.supervisor.observers.append(self._thread_crashed)
        self.publisher = Publisher(self, hk_period_s, status_period_s)
        self.notifier = Notifier(name, supervisor=self.supervisor)
        self.events = EventHandlers(name, supervisor=self.supervisor)
        # Callbacks off the command loop.
        self.tasks = TaskScheduler(name, self.extra_info, supervisor=self.supervisor)
        self.services = ServiceCommands(self)
        self.dispatcher = Dispatcher(
            name,
            served,
            self.services.table(),
            max_bytes=max_message_bytes,
            features=["pub"],
            service_access=SERVICE_ACCESS,
            callers=callers or curve.callers(self._context),
        )
        self.max_message_bytes = max_message_bytes
        self.spin_s = spin_us * 1e-6
        self.standby = Standby(self, takeover_after_s)
        self.deferred = DeferredReplies(self, self._context, max_deferred)
        self._router: zmq.Socket[bytes] | None = None
        self._commands = self.supervisor.thread("commands", self._loop, stop=self.stopping)

    @property
    def endpoint(self) -> str:
        return connectable(self._endpoints["commands"])

    @property
    def pub_endpoint(self) -> str:
        return connectable(self._endpoints["publish"])

    def start(self) -> None:
        """Open the device, bind both sockets and start serving; returns once ready."""
        self.served.open()
        router = curve.server_socket(self._context, zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        # ZeroMQ itself drops (and disconnects) a peer that sends a larger frame.
        router.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        router.setsockopt(zmq.ROUTER_MANDATORY, 0)
        self._endpoints["commands"] = bind(router, self._endpoints["commands"])
        self._router = router
        # Who sent a message is read from its frames only when ZAP says so (CURVE).
        self.secured = curve.is_secured(router)
        self._endpoints["publish"] = self.publisher.bind(self._context, self._endpoints["publish"])
        self.started_at = time.time()
        PROCESS.observers.append(self._thread_crashed)
        self._commands.start()
        self.standby.start()
        self.publisher.start()
        self.notifier.start()
        self.events.start()
        self.tasks.start()
        log.info("%s serving on %s, publishing on %s", self.name, self.endpoint, self.pub_endpoint)

    def serve_forever(self) -> None:
        """Block until :meth:`stop` is called or a client sends ``quit``."""
        self.stopping.wait()
        self.stop()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close sockets and release the device; idempotent."""
        self.stopping.set()
        self._wake.nudge()
        if self._stopped.is_set():
            return
        self._stopped.set()
        with contextlib.suppress(ValueError):  # never started
            PROCESS.observers.remove(self._thread_crashed)
        self._commands.join(timeout)
        self.standby.stop(timeout)
        self.deferred.close(
            socket_free=not (self._commands.is_alive() or self.standby.thread.is_alive())
        )
        self._interrupters.shutdown(wait=False, cancel_futures=True)
        self.tasks.stop(timeout)
        self.publisher.stop(timeout)
        self.notifier.stop(timeout)
        self.events.stop(timeout)
        if self._router is not None:
            # Replies sent just before the stop (quit's own, owed deferred ones) still leave.
            self._router.close(linger=_FLUSH_MS)
        with self.device_lock:
            self.served.close()
        log.info("%s stopped", self.name)

    def notify(self, event: str, data: dict[str, Any] | None = None) -> None:
        """Send ``event`` to the registered listeners and publish it; never blocks."""
        values = dict(data or {})
        self.notifier.notify(event, values)
        self.publisher.publish(EVENT, {"event": event, **values})

    def status_changed(self) -> None:
        """Publish the status at once: followers should not wait a period for a change."""
        self.publisher.status_changed()

    def thread_states(self) -> dict[str, dict[str, Any]]:
        """Each background thread of the server (and of the process): alive, restarts, error."""
        return {**self.supervisor.describe(), **PROCESS.describe()}

    def _thread_crashed(self, crash: Crash) -> None:
        # Queued, never blocking: the crashed thread may be the notifier or the publisher.
        self.notify(THREAD_DIED, crash.as_event())

    def on_event(self, event: str, handler: Handler) -> None:
        """Run ``handler(payload)`` when another server sends us ``event`` ("*": any)."""
        self.events.on(event, handler)

    # -- command loop (owns the socket except during a device command) --------

    def _loop(self) -> None:
        assert self._router is not None
        router = self._router
        # A blocking receive with a timeout is cheaper per message than a poll
        # followed by a non-blocking receive; the timeout lets the loop see stop().
        router.setsockopt(zmq.RCVTIMEO, _POLL_MS)
        # The socket is ours from here on, also after a restart of this loop; the
        # standby thread takes it only while this loop runs a device command.
        self.socket_lock.acquire()
        idle = zmq.Poller()
        idle.register(router, zmq.POLLIN)
        idle.register(self._wake.fd, zmq.POLLIN)
        try:
            while not self.stopping.is_set():
                flags = 0
                if self.deferred.outstanding:
                    # Replies are owed: wait on their wake-ups too, so each goes out at once.
                    if not self.deferred.wait(router, _POLL_MS):
                        continue
                    flags = _NOBLOCK
                try:
                    frames, user = self.receive(router, flags)
                except zmq.Again:
                    if not flags:  # nothing for a while: sleep until a request or stop()
                        self.idle_sleeps += 1
                        idle.poll()
                        self._wake.drain()
                    continue
                self.handle(frames, user, run_device=True)
                if self.backlog:
                    self._run_backlog()
                if self.spin_s and not self.deferred.outstanding:
                    self._spin(router)
        finally:
            if self.stopping.is_set():  # owed replies are answered on the socket's own thread
                self.deferred.abandon()
            self.socket_lock.release()

    def _spin(self, router: zmq.Socket[bytes]) -> None:
        """Poll for the next request for a moment before sleeping in the kernel.

        A thread woken from an idle CPU runs the next request several times
        slower (cold caches, low clock); scripts send commands back to back, so
        a short poll after each answer keeps a stream of commands fast. The poll
        restarts with every request it catches and stops after ``spin_s``
        without one, so an idle server sleeps.

        Between polls the thread yields the CPU: when clients share the cores
        with the server (several scripts on a small host), a poll that never
        yields takes a core a client needs to make its next request; on two
        cores four clients then got a fifth less done than with no poll at all.
        With nothing else runnable the yield returns at once, and one client's
        stream of commands keeps the poll's gain.
        """
        clock = time.perf_counter
        until = clock() + self.spin_s
        while clock() < until:
            try:
                frames, user = self.receive(router, _NOBLOCK)
            except zmq.Again:
                _yield_cpu()
                continue
            self.handle(frames, user, run_device=True)
            if self.backlog:
                self._run_backlog()
            if self.deferred.outstanding:
                return  # the loop polls for their completion
            until = clock() + self.spin_s

    def receive(self, router: zmq.Socket[bytes], flags: int = 0) -> tuple[list[Any], str | None]:
        """One message and the client key it came with (None without CURVE)."""
        if self.secured:
            return recv_frames_and_user(router, flags)
        return recv_frames(router, flags), None

    def handle(self, frames: list[bytes], user: str | None = None, *, run_device: bool) -> None:
        """Answer one received message; device commands run now or join the backlog."""
        route, body = split_route(frames)
        outcome = self.dispatcher.route(body, user)
        self.requests += 1
        if outcome.reply is not None:
            if outcome.journal and outcome.env is not None:
                observed = outcome.env, time.time(), outcome.result, outcome.error, outcome.caller
                self._answer_observed(route, outcome.reply, observed)
            else:
                self.send(route, outcome.reply)
            return
        call, caller = outcome.call, outcome.caller
        if call is None or caller is None:
            return
        if call.command in self.interrupting:
            self._interrupt(route, call, caller)
        elif run_device:
            self._run_device(route, call, caller)
        else:
            self._queue(route, call, caller)

    def _queue(self, route: list[bytes], env: Envelope, caller: Caller) -> None:
        if env.command in self.unqueued:
            self._run_unlocked(route, env, caller)
        elif len(self.backlog) >= self.max_backlog:
            busy = ServerBusy(f"{self.name}: {self.max_backlog} device commands already waiting")
            self.send(route, self.dispatcher.error(env.id, busy))
        else:
            self.backlog.append((route, env, caller))

    def _run_backlog(self) -> None:
        while self.backlog and not self.stopping.is_set():
            route, env, caller = self.backlog.popleft()
            self._run_device(route, env, caller)

    def _run_device(self, route: list[bytes], env: Envelope, caller: Caller) -> None:
        self.busy_since = time.monotonic()
        self.standby.command_started()
        self.socket_lock.release()
        started = time.time()
        try:
            with self.device_lock:
                outcome = self.dispatcher.run_device_observed(env)
        finally:
            self.finishing = True
            self.standby.wake()
            self.socket_lock.acquire()
            self.busy_since = None
            self.finishing = False
        self._answer_or_hold(route, env, caller, started, outcome)

    def _interrupt(self, route: list[bytes], env: Envelope, caller: Caller) -> None:
        """Start an interrupting command now, beside the command in progress.

        Its arguments are checked first: a stop with wrong arguments changes
        nothing. Then the queued commands that would change the device are
        dropped (a move queued behind the one being stopped must not start
        after the stop); queued reads still run. The command itself runs on a
        worker thread, without the device lock (the command in progress holds
        it; each exchange on a transport is whole anyway), and its reply goes
        out when it completes, like a deferred one: an instrument slow to take
        the stop never keeps this thread from serving the socket.
        """
        started = time.time()
        try:
            self.served.validate(env.command, env.args, env.kwargs)
        except Exception as exc:
            self.answer_device(route, env, caller, started, self.dispatcher.failed(env, exc))
            return
        self.interrupts += 1
        queued = list(self.backlog)
        self.backlog.clear()  # in place: the command loop reads it again after its command
        for waiting in queued:
            if self.dispatcher.access[waiting[1].command] == READ:
                self.backlog.append(waiting)
            else:
                self._cancel(waiting, env, caller)
        future = self._interrupters.submit(self.served.invoke, env.command, env.args, env.kwargs)
        self._answer_or_hold(route, env, caller, started, (None, future, None))

    def _cancel(
        self, queued: tuple[list[bytes], Envelope, Caller], by: Envelope, caller: Caller
    ) -> None:
        route, env, waiting = queued
        self.device_commands -= 1  # answered, but it never ran: not counted as run
        why = Cancelled(
            f"{self.name}: {env.command} was cancelled by {by.command} from {caller.identity}"
        )
        self.answer_device(route, env, waiting, time.time(), self.dispatcher.failed(env, why))

    def _run_unlocked(self, route: list[bytes], env: Envelope, caller: Caller) -> None:
        """An :attr:`unqueued` or interrupting command, run without the device lock."""
        started = time.time()
        self._answer_or_hold(route, env, caller, started, self.dispatcher.run_device_observed(env))

    def _answer_or_hold(
        self,
        route: list[bytes],
        env: Envelope,
        caller: Caller,
        started: float,
        outcome: tuple[list[Any] | None, Any, ErrorInfo | None],
    ) -> None:
        reply, result, error = outcome
        if reply is not None:
            self.answer_device(route, env, caller, started, (reply, result, error))
            return
        # The command returned a Future: its reply goes out when that completes.
        refusal = self.deferred.hold(route, env, caller, started, result)
        if refusal is not None:
            outcome = self.dispatcher.failed(env, ServerBusy(refusal))
            self.answer_device(route, env, caller, started, outcome)

    def answer_device(
        self,
        route: list[bytes],
        env: Envelope,
        caller: Caller,
        started: float,
        outcome: Settled,
        *,
        finished: float | None = None,
    ) -> None:
        """Count a device call, send its reply and observe it; the caller holds the socket."""
        reply, result, error = outcome
        self.device_commands += 1
        self._answer_observed(route, reply, (env, started, result, error, caller), finished)

    def _answer_observed(
        self,
        route: list[bytes],
        reply: Sequence[Any],
        call: Observed,
        finished: float | None = None,
    ) -> None:
        """Send a reply; observers that must see the call before it see it, the rest after.

        With only reply observers attached (the journal and metrics of a lab's
        servers), even the record is made after the reply has gone out.
        """
        hooks = self.hooks
        if not (hooks.command_observers or hooks.reply_observers):
            self.send(route, reply)
            return
        finished = time.time() if finished is None else finished
        if hooks.command_observers:
            record = self._record(call, finished)
            self._observe(hooks.command_observers, record)
            self.send(route, reply)
        else:
            self.send(route, reply)
            record = self._record(call, finished)
        self._observe(hooks.reply_observers, record)

    def _record(self, call: Observed, finished: float) -> CommandRecord:
        env, started, result, error, caller = call
        return CommandRecord(
            started,
            self.name,
            env.command,
            env.args,
            env.kwargs,
            finished - started,
            result,
            error,
            caller.identity if caller is not None else "",
        )

    def _observe(self, observers: list[Any], record: CommandRecord) -> None:
        for observer in observers:
            try:
                observer(record)
            except Exception:  # an observer must never cost a command its reply
                log.exception("%s: command observer failed", self.name)

    def send(self, route: list[bytes], frames: Sequence[Any]) -> None:
        """Send a reply; the caller holds the socket lock."""
        assert self._router is not None
        try:
            send_frames(self._router, [*route, *frames])
        except zmq.ZMQError as exc:  # the client went away; nothing to do for it
            log.debug("%s: reply not delivered: %s", self.name, exc)
