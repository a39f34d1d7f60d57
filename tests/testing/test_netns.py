"""Hosts as network namespaces: they talk over TCP, a cut cable parts them, nothing is left."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from controlroom.rpc.child import NotReady
from controlroom.testing import namespaces
from controlroom.testing.netns import HostProcess, NetworkHosts
from netns_fixtures import refuse, started_hosts

ECHO_SERVER = """
import socket, sys
server = socket.create_server((sys.argv[1], 0))
print("LISTENING", server.getsockname()[1], flush=True)
while True:
    conn, peer = server.accept()
    with conn:
        conn.sendall(peer[0].encode() + b" " + conn.recv(1024))
"""
ECHO_CLIENT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])) as c:
    c.sendall(b"hello")
    print(c.recv(1024).decode())
"""
CUT_CONNECT_TIMEOUT_S = 1.0


def listening_port(line: str) -> int | None:
    word, _, port = line.partition(" ")
    return int(port) if word == "LISTENING" else None


def echo_server(lab: NetworkHosts, host: str) -> HostProcess:
    argv = [sys.executable, "-c", ECHO_SERVER, lab.address(host)]
    return lab.run(host, argv, ready=listening_port, ready_timeout=10.0)


def echo(
    lab: NetworkHosts, client: str, server: HostProcess, timeout: float = 5.0
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", ECHO_CLIENT, lab.address(server.host), str(server.info)]
    return lab.execute(client, [*argv, str(timeout)], timeout=timeout + 20.0)


def test_hosts_reach_each_other_over_tcp_from_their_own_address(
    network_hosts: NetworkHosts,
) -> None:
    server = echo_server(network_hosts, "b")
    for client in ("a", "c"):
        done = echo(network_hosts, client, server)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [network_hosts.address(client), "hello"]


def test_a_process_on_a_host_has_its_own_pid_in_that_namespace(
    network_hosts: NetworkHosts,
) -> None:
    server = echo_server(network_hosts, "b")
    assert psutil.Process(server.pid).cmdline()[:2] == [sys.executable, "-c"]
    found = namespaces.ip("netns", "identify", str(server.pid)).split()
    assert found == [network_hosts.namespace("b")]


def test_a_cut_cable_parts_a_host_until_it_is_restored(network_hosts: NetworkHosts) -> None:
    server = echo_server(network_hosts, "b")
    network_hosts.cut("b")
    parted = echo(network_hosts, "a", server, timeout=CUT_CONNECT_TIMEOUT_S)
    assert parted.returncode != 0
    assert "timed out" in parted.stderr or "No route to host" in parted.stderr, parted.stderr
    network_hosts.restore("b")
    done = echo(network_hosts, "a", server)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [network_hosts.address("a"), "hello"]


def test_a_process_that_is_never_ready_is_stopped(network_hosts: NetworkHosts) -> None:
    argv = [sys.executable, "-c", "import signal; print('starting', flush=True); signal.pause()"]
    with pytest.raises(NotReady, match="not ready within"):
        network_hosts.run("a", argv, ready=listening_port, ready_timeout=0.5)
    (process,) = network_hosts.processes
    assert process.wait(0) != 0


def test_close_removes_every_namespace_and_process_even_after_a_failure() -> None:
    seen: dict[str, list[str]] = {}
    with pytest.raises(RuntimeError, match="the test failed"):
        fail_with_processes_running(seen)
    assert seen["namespaces"]
    assert not set(seen["namespaces"]) & set(namespaces.namespaces())
    assert len(seen["pids"]) == 3
    assert not [pid for pid in seen["pids"] if running(int(pid))]


def fail_with_processes_running(seen: dict[str, list[str]]) -> None:
    # A grandchild in a session of its own escapes its parent's process group:
    # only the sweep of the namespace finds it.
    escape = "import subprocess; p = subprocess.Popen(['sleep', '60'], start_new_session=True)"
    escape += "; print('CHILD', p.pid, flush=True); p.wait()"
    with started_hosts() as lab:
        seen["namespaces"] = [lab.switch, *(lab.namespace(host) for host in lab.hosts)]
        server = echo_server(lab, "b")
        parent = lab.run("a", [sys.executable, "-c", escape], ready=child_pid)
        seen["pids"] = [str(pid) for pid in (server.pid, parent.pid, parent.info)]
        assert all(running(int(pid)) for pid in seen["pids"])
        raise RuntimeError("the test failed")


def child_pid(line: str) -> int | None:
    word, _, pid = line.partition(" ")
    return int(pid) if word == "CHILD" else None


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_only_the_namespaces_of_a_finished_run_are_removed_at_start() -> None:
    refused = namespaces.netns_refused()
    if refused:
        refuse(refused)
    gone = finished_pid()
    dead, alive, other = f"cr{gone}-1-a", f"cr{psutil.Process().pid}-999-a", f"cr{gone}-a"
    for name in (dead, alive, other):
        namespaces.ip("netns", "add", name)
    try:
        with started_hosts(("a",)):
            left = set(namespaces.namespaces())
        assert dead not in left
        assert {alive, other} <= left
    finally:
        for name in (alive, other, dead):
            if name in namespaces.namespaces():
                namespaces.remove_namespace(name)


def finished_pid() -> int:
    """The PID of a process that has ended (and was reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("hosts", [("a", "switch"), ("a", "a"), ("A",), ("a-b",), ()])
def test_host_names_that_cannot_name_a_namespace_are_refused(hosts: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=r"host name|distinct host names"):
        NetworkHosts(hosts)


def test_without_root_there_are_no_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(namespaces.os, "geteuid", lambda: 1000)
    assert namespaces.netns_refused() == "network namespaces need root"


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_namespaces_fail_under_ci_and_skip_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="need root"):
        refuse("network namespaces need root")
