"""Hosts for multi-host tests: Linux network namespaces joined by one bridge (root only).

:class:`NetworkHosts` makes a network namespace per host and a *switch*
namespace holding a bridge, and wires each host to it with a veth pair: the
host end is ``eth0`` in the host's namespace, with address 198.51.100.<n>/24
(TEST-NET-2, reserved for documentation: it routes nowhere real, and no
namespace has a default route), the switch end is ``v-<host>`` on the bridge.
:meth:`~NetworkHosts.cut` pulls a host's cable, :meth:`~NetworkHosts.restore`
plugs it back in.

:meth:`~NetworkHosts.run` starts a process inside a host with
``ip netns exec``, which *execs* the command: the PID is the process's own.
The process is a :class:`~controlroom.rpc.child.Child` (a process group of its
own, stderr in a log, an optional ready line) and is stopped at
:meth:`~NetworkHosts.close` at the latest, which then stops whatever else still
runs inside the namespaces (grandchildren in sessions of their own) and
deletes them. Namespaces are named ``cr<pid>-<lab>-<host>``; one left by a
run that was killed (its PID gone) is deleted at the next :meth:`start`
(:mod:`controlroom.testing.namespaces`).
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

from controlroom.rpc.child import Child
from controlroom.testing.hostprocess import HostProcess, ReadyParser
from controlroom.testing.namespaces import (
    NetnsError,
    ip,
    ip_command,
    link_state,
    netns_refused,
    remove_leftovers,
    remove_namespace,
)
from controlroom.testing.waiting import wait_until

__all__ = ["HostProcess", "NetnsError", "NetworkHosts", "netns_refused"]

SUBNET = "198.51.100"  # TEST-NET-2 (RFC 5737)
PREFIX_LENGTH = 24
HOST_NIC = "eth0"
BRIDGE = "br0"
SWITCH = "switch"
HOST_NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")  # "v-" + it must fit an interface name
LINK_TIMEOUT_S = 10.0
_labs = itertools.count(1)  # several labs in one process get names of their own


class NetworkHosts:
    """Hosts (network namespaces) on one switch; a context manager that always cleans up."""

    def __init__(self, hosts: Sequence[str] = ("a", "b", "c"), *, stop_grace_s: float = 10.0):
        for host in hosts:
            if not HOST_NAME.match(host) or host == SWITCH:
                raise ValueError(f"host name {host!r}: a-z then up to 9 of a-z0-9, not {SWITCH!r}")
        if len(set(hosts)) != len(hosts) or not 0 < len(hosts) < 254:
            raise ValueError(f"1 to 253 distinct host names, not {list(hosts)}")
        self.hosts = tuple(hosts)
        self.lab = f"cr{os.getpid()}-{next(_labs)}"
        self.stop_grace_s = stop_grace_s
        self.processes: list[HostProcess] = []
        self._made: list[str] = []  # namespaces made, deleted by close()
        self._logs: tempfile.TemporaryDirectory[str] | None = None

    def namespace(self, host: str) -> str:
        if host not in self.hosts:
            raise KeyError(f"no host {host!r} in this lab (hosts: {', '.join(self.hosts)})")
        return f"{self.lab}-{host}"

    @property
    def switch(self) -> str:
        return f"{self.lab}-{SWITCH}"

    def address(self, host: str) -> str:
        """The host's IPv4 address on the switch."""
        self.namespace(host)
        return f"{SUBNET}.{self.hosts.index(host) + 1}"

    def start(self) -> Self:
        """Make the switch and the hosts, wait until every link forwards."""
        refused = netns_refused()
        if refused:
            raise NetnsError(refused)
        remove_leftovers()
        try:
            self._add_namespace(self.switch)
            ip("-n", self.switch, "link", "add", BRIDGE, "type", "bridge")
            ip("-n", self.switch, "link", "set", BRIDGE, "up")
            for host in self.hosts:
                self._add_host(host)
            for host in self.hosts:
                self._wait_link(host, LINK_TIMEOUT_S)
        except BaseException:
            self.close()
            raise
        self._logs = tempfile.TemporaryDirectory(prefix="controlroom-netns-")
        return self

    def _add_namespace(self, name: str) -> None:
        ip("netns", "add", name)
        self._made.append(name)
        ip("-n", name, "link", "set", "lo", "up")

    def _add_host(self, host: str) -> None:
        name, port = self.namespace(host), _port(host)
        self._add_namespace(name)
        veth = ("type", "veth", "peer", "name", HOST_NIC, "netns", name)
        ip("-n", self.switch, "link", "add", port, *veth)
        ip("-n", self.switch, "link", "set", port, "master", BRIDGE)
        ip("-n", self.switch, "link", "set", port, "up")
        ip("-n", name, "addr", "add", f"{self.address(host)}/{PREFIX_LENGTH}", "dev", HOST_NIC)
        ip("-n", name, "link", "set", HOST_NIC, "up")

    def cut(self, host: str) -> None:
        """Pull the host's cable: its switch port goes down (the host keeps its address)."""
        self.namespace(host)
        ip("-n", self.switch, "link", "set", _port(host), "down")

    def restore(self, host: str, timeout: float = LINK_TIMEOUT_S) -> None:
        """Plug the cable back in; return once the link forwards again."""
        self.namespace(host)
        ip("-n", self.switch, "link", "set", _port(host), "up")
        self._wait_link(host, timeout)

    def _wait_link(self, host: str, timeout: float) -> None:
        # The kernel brings a carrier up asynchronously: traffic sent before is dropped.
        if not wait_until(lambda: self._forwards(host), timeout, every_s=0.02):
            raise NetnsError(f"the link of host {host} did not come up within {timeout:g} s")

    def _forwards(self, host: str) -> bool:
        nic, port = link_state(self.namespace(host), HOST_NIC), link_state(self.switch, _port(host))
        bridged = port.get("linkinfo", {}).get("info_slave_data", {}).get("state")
        return (
            nic.get("operstate") == "UP"
            and port.get("operstate") == "UP"
            and (bridged == "forwarding")
        )

    def command(self, host: str, argv: Sequence[str]) -> list[str]:
        """``argv`` as run inside ``host``."""
        return [ip_command(), "netns", "exec", self.namespace(host), *argv]

    def run(
        self,
        host: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        ready: ReadyParser | None = None,
        ready_timeout: float = 30.0,
    ) -> HostProcess:
        """Start ``argv`` inside ``host`` (``env``: its whole environment; None: ours).

        With ``ready``, return once a stdout line makes it return non-None (that
        value is the handle's ``info``); :class:`NotReady` if the process exits or
        stays silent first. The process is stopped by :meth:`close` at the latest.
        """
        if self._logs is None:
            raise NetnsError("start() the hosts before running anything on them")
        log = Path(self._logs.name) / f"{len(self.processes)}-{host}.log"
        what = f"{shlex.join(argv)} on host {host}"
        child = Child.spawn(what, self.command(host, argv), log_path=log, env=env)
        process = HostProcess(host, argv, child)
        self.processes.append(process)
        process.begin(ready, ready_timeout)
        return process

    def execute(
        self,
        host: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside ``host`` to its end (killed after ``timeout``); its output."""
        return subprocess.run(
            self.command(host, argv),
            check=False,
            capture_output=True,
            text=True,
            env=None if env is None else dict(env),
            timeout=timeout,
        )

    def close(self) -> None:
        """Stop every process, then the rest inside the namespaces, delete them; idempotent."""
        for process in reversed(self.processes):
            process.child.terminate(self.stop_grace_s)
        failures = []
        for name in reversed(self._made):
            try:
                remove_namespace(name, self.stop_grace_s)
            except NetnsError as exc:
                failures.append(str(exc))
        self._made.clear()
        for process in self.processes:
            process.let_go(self.stop_grace_s)
        self.processes.clear()
        if self._logs is not None:
            self._logs.cleanup()
            self._logs = None
        if failures:
            raise NetnsError("; ".join(failures))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()


def _port(host: str) -> str:
    """The switch end of the host's cable."""
    return f"v-{host}"
