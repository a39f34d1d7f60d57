"""Leases: one caller takes a server, the others may only read until it ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from controlroom.rpc import ControlServer, FunctionTable, Proxy, curve
from controlroom.rpc.errors import RemoteError
from controlroom.rpc.follow import Publication, Subscriber
from controlroom.rpc.hooks import CommandRecord
from controlroom.rpc.keyring import Keyring, add_client
from controlroom.testing.waiting import wait_until

UNTIL = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
Contexts = Callable[..., zmq.Context[Any]]


def _table() -> FunctionTable:
    state = {"offset": 0.0}

    def set_offset(value: float) -> float:
        state["offset"] = value
        return value

    return FunctionTable(
        {"set_offset": set_offset, "get_offset": lambda: state["offset"]},
        access={"get_offset": "read"},
        status=lambda: dict(state),
    )


class Bench:
    """A server with its journal and the events it published."""

    def __init__(self, server: ControlServer) -> None:
        self.server = server
        self.journal: list[CommandRecord] = []
        self.events: list[dict[str, Any]] = []
        server.hooks.command_observers.append(self.journal.append)

    def published(self, event: str, count: int = 0) -> list[dict[str, Any]]:
        """The ``event``s received, once there are ``count`` (they arrive on their own time)."""
        assert wait_until(lambda: len(self._named(event)) >= count, timeout_s=10)
        return self._named(event)

    def _named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == event]

    def take(self, publication: Publication) -> None:
        if publication.kind == "event":
            self.events.append(publication.values)


def _serve(server: ControlServer, context: zmq.Context[Any]) -> Iterator[Bench]:
    bench = Bench(server)
    server.start()
    followed = Subscriber(name="lease-events", context=context)
    status_seen: list[Publication] = []
    followed.on("event/", bench.take).on("status/", status_seen.append)
    followed.follow([server.pub_endpoint])
    with followed.start():
        # A subscriber misses what is published before it connects: wait for a status first.
        assert wait_until(lambda: bool(status_seen))
        yield bench
    server.stop()


@pytest.fixture
def server_context(keys_folder: Path) -> Iterator[zmq.Context[Any]]:
    add_client(keys_folder, "operator2", "operator")
    context: zmq.Context[Any] = zmq.Context()
    curve.secure(context, Keyring.load(keys_folder, "lab"))
    yield context
    curve.unsecure(context)
    context.destroy(linger=0)


@pytest.fixture
def bench(server_context: zmq.Context[Any], client_context: Contexts) -> Iterator[Bench]:
    server = ControlServer("bench", _table(), context=server_context, status_period_s=0.02)
    yield from _serve(server, client_context("viewer"))


@pytest.fixture
def connect(bench: Bench, client_context: Contexts) -> Iterator[Callable[..., Proxy]]:
    made: list[Proxy] = []

    def make(identity: str, **options: Any) -> Proxy:
        options.setdefault("timeout", 2.0)
        context = client_context(identity)
        made.append(Proxy(bench.server.endpoint, name="bench", context=context, **options))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def test_the_holder_commands_while_another_operator_may_only_read(
    bench: Bench, connect: Callable[..., Proxy]
) -> None:
    holder, other = connect("operator"), connect("operator2")
    taken = holder.lease(60)
    assert taken["server"] == "bench"
    assert taken["holder"] == "key operator"
    assert holder.call("set_offset", 2.0) == 2.0
    with pytest.raises(PermissionError, match=f"bench is leased by key operator until {UNTIL}"):
        other.call("set_offset", 5.0)
    with pytest.raises(PermissionError, match="leased by key operator") as refused:
        other.set_rates(status_period_s=1.0)  # service commands that change things too
    assert isinstance(refused.value, RemoteError)
    assert refused.value.info.type == "LeaseHeld"
    with pytest.raises(PermissionError, match=f"leased by key operator until {taken['until']}"):
        other.lease(10)
    assert other.call("get_offset") == 2.0  # reads stay open
    assert other.ping() == "pong"
    status = other.lease_status()
    assert status is not None and status["holder"] == "key operator"
    assert bench.published("lease_taken", 1)[0]["holder"] == "key operator"


def test_renewing_extends_the_lease_and_keeps_it(connect: Callable[..., Proxy]) -> None:
    holder = connect("operator")
    first = holder.lease(5)
    renewed = holder.lease(60)
    assert renewed["until_s"] > first["until_s"]
    assert (renewed["taken"], renewed["renewals"]) == (first["taken"], 1)


def test_a_release_frees_the_server_for_the_next_one(
    bench: Bench, connect: Callable[..., Proxy]
) -> None:
    holder, other = connect("operator"), connect("operator2")
    holder.lease(60)
    with pytest.raises(PermissionError, match="leased by key operator"):
        other.release()  # only the holder releases
    assert holder.release() is True
    assert holder.lease_status() is None
    assert other.call("set_offset", 3.0) == 3.0
    other.lease(60)
    with pytest.raises(PermissionError, match="leased by key operator2"):
        holder.call("set_offset", 4.0)
    assert other.release() is True
    assert other.release() is False  # nothing left to release
    assert [e["holder"] for e in bench.published("lease_released", 2)] == [
        "key operator",
        "key operator2",
    ]


def test_an_admin_breaks_a_lease_and_may_still_run_admin_commands(
    bench: Bench, connect: Callable[..., Proxy]
) -> None:
    holder, other, admin = connect("operator"), connect("operator2"), connect("admin")
    holder.lease(60)
    with pytest.raises(PermissionError, match="leased by key operator"):
        admin.call("set_offset", 1.0)  # an admin commands only after breaking the lease
    with pytest.raises(PermissionError, match="leased by key operator"):
        admin.release()
    with pytest.raises(PermissionError, match=r"key operator2 may not break .* admin role"):
        other.release(force=True)
    # Admin commands pass a lease: the lab's own processes, and an admin in an emergency.
    assert admin.call("unregister_listener", "nobody") is False
    assert admin.release(force=True) is True
    assert admin.call("set_offset", 1.0) == 1.0
    broken = bench.published("lease_broken", 1)
    assert [(e["holder"], e["by"]) for e in broken] == [("key operator", "key admin")]
    holder.lease(60)
    assert admin.quit() == "bench stopping"


def test_an_expired_lease_frees_the_server_and_is_announced(
    bench: Bench, connect: Callable[..., Proxy]
) -> None:
    holder, other = connect("operator"), connect("operator2")
    holder.lease(1)
    # No call sees it run out: the server's task announces the expiry by itself.
    assert bench.published("lease_expired", 1)[0]["holder"] == "key operator"
    assert other.lease_status() is None
    assert other.call("set_offset", 6.0) == 6.0


def test_an_expired_lease_is_seen_by_the_next_call(
    bench: Bench, connect: Callable[..., Proxy]
) -> None:
    holder, other = connect("operator"), connect("operator2")
    holder.lease(1)
    assert wait_until(lambda: other.lease_status() is None, timeout_s=10)
    assert other.lease(30)["holder"] == "key operator2"
    with pytest.raises(PermissionError, match="leased by key operator2"):
        holder.call("set_offset", 1.0)


def test_holding_renews_the_lease_while_the_block_runs_and_releases_it(
    bench: Bench, connect: Callable[..., Proxy]
) -> None:
    holder, other = connect("operator"), connect("operator2")
    # Renewed often, so a slow machine has most of the 2 s to get each renewal through.
    with holder.holding(2, renew_every=0.25) as held:
        first = held.lease
        assert first is not None
        # Nine renewals, one every quarter second: the block outlives the first 2 s.
        assert wait_until(lambda: held.renewals >= 9, timeout_s=30)
        status = other.lease_status()
        assert status is not None
        assert (status["holder"], status["taken"]) == ("key operator", first["taken"])
        assert status["until_s"] > first["until_s"]
        with pytest.raises(PermissionError, match="leased by key operator"):
            other.call("set_offset", 1.0)
        assert holder.call("set_offset", 2.0) == 2.0
    assert other.lease_status() is None
    assert held.error is None and not held.lost
    assert bench.published("lease_expired") == []


def test_holding_releases_on_an_exception_and_refuses_a_held_server(
    connect: Callable[..., Proxy],
) -> None:
    holder, other = connect("operator"), connect("operator2")
    with pytest.raises(RuntimeError, match="the block failed"), holder.holding(60):
        raise RuntimeError("the block failed")
    assert other.lease_status() is None
    other.lease(60)
    with pytest.raises(PermissionError, match="leased by key operator2"), holder.holding(60):
        pytest.fail("the block runs only with the lease")
    with pytest.raises(ValueError, match="renew_every"):
        holder.holding(10, renew_every=10)


def test_a_client_may_not_say_who_calls(connect: Callable[..., Proxy]) -> None:
    other = connect("operator2")
    impostor = {"key": "admin", "role": "admin"}
    with pytest.raises(PermissionError, match="may not pass 'caller'"):
        other.request("lease", (60,), {"caller": impostor})
    assert other.lease_status() is None
    connect("operator").lease(60)
    with pytest.raises(PermissionError, match="may not pass 'caller'"):
        other.request("release", (), {"caller": impostor, "force": True})
    assert other.lease_status() is not None


def test_the_lease_bounds_are_checked(connect: Callable[..., Proxy]) -> None:
    holder = connect("operator")
    for seconds in (0.5, 86401, float("nan"), True, "60"):
        with pytest.raises(ValueError, match="a lease lasts 1 to 86400 seconds"):
            holder.lease(seconds)
    assert holder.lease_status() is None


def test_the_journal_has_who_took_renewed_released_and_was_refused(
    bench: Bench, connect: Callable[..., Proxy]
) -> None:
    holder, other = connect("operator"), connect("operator2")
    holder.lease(60)
    holder.lease(90)
    with pytest.raises(PermissionError):
        other.call("set_offset", 1.0)
    holder.lease_status()  # a read: not journaled
    holder.release()
    rows = [(r.command, r.args, r.caller, r.ok) for r in bench.journal]
    assert rows == [
        ("lease", [60], "key operator", True),
        ("lease", [90], "key operator", True),
        ("set_offset", [1.0], "key operator2", False),
        ("release", [], "key operator", True),
    ]
    assert bench.journal[2].error is not None and bench.journal[2].error.type == "LeaseHeld"
    assert bench.journal[1].result["renewals"] == 1


def test_info_and_process_status_show_the_lease(connect: Callable[..., Proxy]) -> None:
    holder, viewer = connect("operator"), connect("viewer")
    assert viewer.process_status()["lease"] is None
    holder.lease(60)
    assert viewer.process_status()["lease"]["holder"] == "key operator"
    described = viewer.info()
    assert described["lease"]["holder"] == "key operator"
    services = {s["name"]: s["access"] for s in described["services"]}
    assert (services["lease"], services["release"], services["lease_status"]) == (
        "command",
        "command",
        "read",
    )


def test_a_server_that_serves_the_lab_refuses_leases(
    bench: Bench, connect: Callable[..., Proxy]
) -> None:
    bench.server.services.leases.leasable = False
    with pytest.raises(PermissionError, match="bench serves the whole lab and cannot be leased"):
        connect("operator").lease(60)


# -- without CURVE: anonymous on loopback, users named by a delegate -------------------


@pytest.fixture
def open_bench(client_context: Contexts) -> Iterator[Bench]:
    server = ControlServer("bench", _table(), context=client_context(None), status_period_s=0.02)
    yield from _serve(server, client_context(None))


def test_without_curve_a_lease_separates_the_users_a_delegate_names(
    open_bench: Bench, client_context: Contexts
) -> None:
    def for_user(user: str, via: str) -> Proxy:
        claim = {"user": user, "role": "operator", "via": via}
        context = client_context(None)
        return Proxy(open_bench.server.endpoint, context=context, timeout=2.0, on_behalf=claim)

    with (
        for_user("alice", "web") as alice,
        for_user("alice", "pipe") as alice_again,
        for_user("bob", "web") as bob,
    ):
        assert alice.lease(60)["holder"] == "alice via web (key anonymous)"
        pattern = r"leased by alice via web \(key anonymous\)"
        with pytest.raises(PermissionError, match=pattern):
            bob.call("set_offset", 1.0)
        assert alice_again.call("set_offset", 2.0) == 2.0  # the same person by another bridge
        assert bob.call("get_offset") == 2.0
        with Proxy(open_bench.server.endpoint, context=client_context(None)) as anonymous:
            with pytest.raises(PermissionError, match=pattern):
                anonymous.call("set_offset", 3.0)  # the process itself is someone else
        assert alice_again.release() is True
        assert bob.call("set_offset", 4.0) == 4.0
    callers = [r.caller for r in open_bench.journal if r.command == "set_offset"]
    assert callers == [
        "bob via web (key anonymous)",
        "alice via pipe (key anonymous)",
        "anonymous",
        "bob via web (key anonymous)",
    ]
