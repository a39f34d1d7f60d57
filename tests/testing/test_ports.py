"""Ports picked for servers started later: free, distinct, outside the OS's ephemeral range."""

from __future__ import annotations

import socket

from controlroom.testing import ports


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    picked = [ports.free_tcp_port() for _ in range(100)]
    assert len(set(picked)) == len(picked)
    assert all(ports.LOWEST <= port < ports._ephemeral_start() for port in picked)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", picked[-1]))  # still free


def test_a_taken_port_is_never_handed_out() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert busy not in {ports.free_tcp_port() for _ in range(50)}
