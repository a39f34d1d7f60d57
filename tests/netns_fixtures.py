"""Hosts as network namespaces for multi-host tests (root only; under ``CI=true`` they must run).

``network_hosts`` gives three started hosts ``a``, ``b`` and ``c``
(198.51.100.1-3) and deletes them, with every process inside, after the test.
A test module or conftest makes it available with
``from netns_fixtures import network_hosts``; :func:`started_hosts` builds
other sets of hosts the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

from controlroom.testing.netns import NetnsError, NetworkHosts, netns_refused

HOSTS = ("a", "b", "c")


def refuse(reason: str) -> None:
    """Skip the test, or fail it under CI, which runs as root and must run these tests."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI runs the network-namespace tests as root: {reason}")
    pytest.skip(reason)


@contextmanager
def started_hosts(hosts: Sequence[str] = HOSTS) -> Iterator[NetworkHosts]:
    """``hosts`` started for the ``with`` and always removed after it."""
    refused = netns_refused()
    if refused:
        refuse(refused)
    lab = NetworkHosts(hosts)
    try:
        lab.start()
    except NetnsError as exc:  # root, but not allowed (a container without CAP_SYS_ADMIN)
        refuse(str(exc))
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def network_hosts() -> Iterator[NetworkHosts]:
    """Hosts ``a``, ``b`` and ``c`` on one switch."""
    with started_hosts() as lab:
        yield lab
