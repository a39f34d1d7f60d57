"""Ports for tests: ask the OS, never hard-code one.

A port chosen now for a server started later must not be taken meanwhile. A
port the OS hands out for a bind to port 0 is an *ephemeral* one, and the
OS hands the same range out again to every outgoing connection and every
other bind to port 0 -- of which a whole simulated lab makes dozens. So the
port is picked below the ephemeral range (checked free by binding it), and
never twice in one process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()
_random = random.SystemRandom()


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for a server started later in the test)."""
    highest = _ephemeral_start() - 1
    for _ in range(200):
        port = _random.randint(LOWEST, highest) if highest > LOWEST else 0
        if port in _handed_out:
            continue
        chosen = _bindable(host, port)
        if chosen:
            _handed_out.add(chosen)
            return chosen
    return _bindable(host, 0)  # no luck below the range: let the OS choose


def _bindable(host: str, port: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return 0
        return int(sock.getsockname()[1])


def _ephemeral_start() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default
