"""What processes need from other hosts is waited for until it answers, never started."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator
from typing import Any

import pytest
from procman_helpers import child_spec

from controlroom.rpc import ControlServer, FunctionTable
from controlroom.services.procman.remote import RemoteServers
from controlroom.services.procman.supervisor import State, Supervisor
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

MakeSupervisor = Callable[..., Supervisor]


def services_at(endpoint: str) -> dict[str, Any]:
    """Settings whose storage manager is at ``endpoint`` and whose registry answers nowhere."""
    nowhere = f"tcp://127.0.0.1:{free_tcp_port()}"
    return {
        "services": {
            "registry": {"commands": nowhere, "publish": nowhere},
            "storage": {"commands": endpoint, "publish": nowhere},
        },
        "devices": {},
    }


@pytest.fixture
def storage() -> Iterator[ControlServer]:
    """A server answering at a fixed port, as the storage manager of another host would."""
    server = ControlServer(
        "storage", FunctionTable({}), endpoint=f"tcp://127.0.0.1:{free_tcp_port()}"
    )
    yield server
    server.stop()


def test_a_server_of_another_host_is_waited_for_until_it_answers(storage: ControlServer) -> None:
    remote = RemoteServers(services_at(storage.endpoint), timeout_s=30.0)
    stop = threading.Event()
    missing: list[list[str]] = []
    waiter = threading.Thread(target=lambda: missing.append(remote.wait(["storage"], stop)))
    waiter.start()
    try:
        assert not remote.answers("storage")  # not serving yet: the wait goes on
        assert waiter.is_alive()
        storage.start()
        waiter.join(30.0)
        assert missing == [[]]
    finally:
        stop.set()
        waiter.join()


def test_one_that_never_answers_is_given_up_after_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    remote = RemoteServers(services_at(f"tcp://127.0.0.1:{free_tcp_port()}"), timeout_s=0.3)
    assert remote.wait(["storage", "hexapod"], threading.Event()) == ["hexapod", "storage"]
    assert "hexapod, storage of other hosts did not answer" in caplog.text


def test_a_process_needing_another_host_starts_once_the_wait_is_over(
    make_supervisor: MakeSupervisor,
) -> None:
    supervisor = make_supervisor()
    asked: list[Collection[str]] = []
    answered = threading.Event()

    def wait_remote(names: Collection[str], stop: threading.Event) -> list[str]:
        asked.append(sorted(names))
        answered.wait(30.0)
        return []

    supervisor.wait_remote = wait_remote
    supervisor.set_specs(
        [
            child_spec("local-service"),
            child_spec("device", after=("local-service", "storage"), remote_after=("storage",)),
        ]
    )
    starting = threading.Thread(target=supervisor.start_all)
    starting.start()
    try:
        local = supervisor.get("local-service")
        assert wait_until(lambda: local.state == State.RUNNING, 15.0)  # needs nothing remote
        assert asked == [["storage"]]
        assert supervisor.get("device").state == State.STOPPED
        answered.set()
        starting.join(30.0)
        assert supervisor.get("device").state == State.RUNNING
    finally:
        answered.set()
        starting.join()
