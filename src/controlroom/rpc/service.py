"""Service commands: what every control server answers about itself.

They run on the command loop (or the standby thread), never on the device, so
they answer even while a long device command is running.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psutil

import controlroom
from controlroom.rpc.access import ADMIN, COMMAND, READ, Caller
from controlroom.rpc.leases import MAX_LEASE_S, MIN_LEASE_S, Leases
from controlroom.rpc.publisher import HK, MAX_PERIOD_S, MIN_PERIOD_S, STATUS, checked_period
from controlroom.rpc.threads import PROCESS
from controlroom.wire import PROTOCOL_VERSION

if TYPE_CHECKING:
    from controlroom.rpc.server import ControlServer

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

SERVICE_DOCS: dict[str, str] = {
    "ping": "Answer 'pong': the server is alive and none of its threads is dead.",
    "info": "Name, version, endpoints, rates and every command as JSON Schema.",
    "process_status": (
        "PID, uptime, CPU, memory, request counters and background threads of the server."
    ),
    "get_rates": "Housekeeping and status polling periods (requested and granted).",
    "set_rates": (
        "Change hk_period_s and/or status_period_s "
        f"({MIN_PERIOD_S:g} to {MAX_PERIOD_S:g} s); clamped to what the device answers."
    ),
    "get_status": "The last status sample {time, values}.",
    "get_housekeeping": "The last housekeeping sample {time, values}.",
    "set_log_level": "Set the log level of the server (or of one of its loggers).",
    "register_listener": "Send events (all, or those named) to the server at endpoint.",
    "unregister_listener": "Stop sending events to a listener.",
    "handle_event": "Receive an event from another server (queued, handled off the loop).",
    "quit": "Stop the server after this reply.",
    "lease": (
        f"Take this server for seconds ({MIN_LEASE_S:g} to {MAX_LEASE_S:g}), or renew your lease: "
        "until it ends, others may only read. Returns {server, holder, until, ...}."
    ),
    "release": "End your lease; an admin breaks another's with force=true.",
    "lease_status": "Who holds the lease of this server and until when, or null.",
}


# Who may run each service command (see controlroom.rpc.access).
SERVICE_ACCESS: dict[str, str] = {
    "ping": READ,
    "info": READ,
    "process_status": READ,
    "get_rates": READ,
    "get_status": READ,
    "get_housekeeping": READ,
    "set_rates": COMMAND,
    "set_log_level": COMMAND,
    "register_listener": ADMIN,
    "unregister_listener": ADMIN,
    "handle_event": ADMIN,
    "quit": ADMIN,
    "lease": COMMAND,
    "release": COMMAND,
    "lease_status": READ,
}


class ServiceCommands:
    def __init__(self, server: ControlServer) -> None:
        self.server = server
        self._process = psutil.Process(os.getpid())
        self._process.cpu_percent()  # prime: the first reading is always 0
        self.leases = Leases(server.name, server.notify, server.tasks.schedule)
        self.leases.exempt = server.interrupting

    def table(self) -> dict[str, Callable[..., Any]]:
        return {name: getattr(self, name) for name in SERVICE_DOCS}

    def ping(self) -> str:
        # A server whose publisher (or another loop) is dead for good is not healthy.
        self.server.supervisor.check()
        PROCESS.check()
        return "pong"

    def info(self) -> dict[str, Any]:
        server = self.server
        return {
            **server.extra_info,  # first, so it can never hide a key of our own
            "name": server.name,
            "version": controlroom.__version__,
            "protocol": PROTOCOL_VERSION,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "endpoints": {"commands": server.endpoint, "publish": server.pub_endpoint},
            "commands": server.served.describe(),
            "services": [
                {"name": n, "doc": d, "access": SERVICE_ACCESS[n]} for n, d in SERVICE_DOCS.items()
            ],
            "rates": self.get_rates(),
            "lease": self.leases.status(),
            "listeners": self.server.notifier.describe(),
            "background_threads": self.server.thread_states(),
            "events": {
                "received": self.server.events.received,
                "handler_failures": self.server.events.failures,
                "dropped": self.server.notifier.dropped_events,
            },
        }

    def process_status(self) -> dict[str, Any]:
        proc = self._process
        with proc.oneshot():
            memory = proc.memory_info()
            return {
                "name": self.server.name,
                "pid": proc.pid,
                "uptime_s": time.time() - self.server.started_at,
                "cpu_percent": proc.cpu_percent(),
                "rss_mb": memory.rss / 2**20,
                "threads": proc.num_threads(),
                "requests": self.server.requests,
                "device_commands": self.server.device_commands,
                "malformed": self.server.dispatcher.malformed,
                "backlog": len(self.server.backlog),
                "deferred_replies": self.server.deferred.outstanding,
                "standby_takeovers": self.server.standby.takeovers,
                "hk_failures": self.server.publisher.failures,
                "background_threads": self.server.thread_states(),
                "lease": self.leases.status(),
            }

    def get_rates(self) -> dict[str, Any]:
        rates = self.server.publisher.rates
        return {HK: rates[HK].describe(), STATUS: rates[STATUS].describe()}

    def set_rates(
        self, hk_period_s: float | None = None, status_period_s: float | None = None
    ) -> dict[str, Any]:
        asked = {HK: hk_period_s, STATUS: status_period_s}
        # Check both before changing either: a refused call changes nothing.
        periods = {
            kind: checked_period(f"{kind}_period_s", value)
            for kind, value in asked.items()
            if value is not None
        }
        for kind, period_s in periods.items():
            self.server.publisher.set_period(kind, period_s)
        return self.get_rates()

    def get_status(self) -> dict[str, Any] | None:
        return self._last(STATUS)

    def get_housekeeping(self) -> dict[str, Any] | None:
        return self._last(HK)

    def _last(self, kind: str) -> dict[str, Any] | None:
        sample = self.server.publisher.last[kind]
        return None if sample is None else {"time": sample.time, "values": sample.values}

    def set_log_level(self, level: str, logger: str = "") -> str:
        if not isinstance(level, str) or level.upper() not in _LEVELS:
            raise ValueError(f"log level must be one of {', '.join(_LEVELS)}, not {level!r}")
        logging.getLogger(logger or None).setLevel(level.upper())
        return level.upper()

    def register_listener(
        self, name: str, endpoint: str, events: list[str] | None = None
    ) -> list[dict[str, Any]]:
        self.server.notifier.register(name, endpoint, events)
        return self.server.notifier.describe()

    def unregister_listener(self, name: str) -> bool:
        return self.server.notifier.unregister(name)

    def handle_event(self, payload: dict[str, Any]) -> bool:
        return self.server.events.accept(payload)

    def quit(self) -> str:
        self.server.stopping.set()
        return f"{self.server.name} stopping"

    def lease(self, seconds: float, *, caller: Caller) -> dict[str, Any]:
        self._guard_commands()
        return {"server": self.server.name, **self.leases.take(caller, seconds).describe()}

    def release(self, force: bool = False, *, caller: Caller) -> bool:
        return self.leases.release(caller, force)

    def lease_status(self) -> dict[str, Any] | None:
        return self.leases.status()

    def _guard_commands(self) -> None:
        # The guard matters only once a lease exists, and the dispatcher is made after
        # these commands: it joins the guards at the first lease.
        guards = self.server.dispatcher.guards
        if self.leases.guard not in guards:
            guards.append(self.leases.guard)
