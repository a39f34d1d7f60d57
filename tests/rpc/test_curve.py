"""CURVE on every socket: who may connect, who may do what, keys reloaded in place."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

from controlroom.rpc import ControlServer, FunctionTable, Proxy, curve
from controlroom.rpc.errors import InsecureServer, RemoteError, ServerUnavailable
from controlroom.rpc.follow import Subscriber
from controlroom.rpc.hooks import CommandRecord
from controlroom.rpc.keyring import Keyring, add_client, revoke_client
from controlroom.testing.waiting import wait_until


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


@pytest.fixture
def server_context(keys_folder: Path) -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    curve.secure(context, Keyring.load(keys_folder, "lab"))
    yield context
    curve.unsecure(context)
    context.destroy(linger=0)


@pytest.fixture
def secured_server(server_context: zmq.Context[Any]) -> Iterator[ControlServer]:
    server = ControlServer("bench", _table(), context=server_context, status_period_s=0.02)
    journal: list[CommandRecord] = []
    server.hooks.command_observers.append(journal.append)
    server.journal = journal  # type: ignore[attr-defined]
    server.start()
    yield server
    server.stop()


def _proxy(server: ControlServer, context: zmq.Context[Any], **options: Any) -> Proxy:
    options.setdefault("timeout", 2.0)
    return Proxy(server.endpoint, name="bench", context=context, **options)


def test_every_socket_of_a_secured_server_is_curve(secured_server: ControlServer) -> None:
    assert secured_server.secured
    assert secured_server.publisher._socket is not None
    assert curve.is_secured(secured_server.publisher._socket)


def test_roles_decide_what_a_listed_key_may_do(
    secured_server: ControlServer, client_context: Callable[..., zmq.Context[Any]]
) -> None:
    with _proxy(secured_server, client_context("operator")) as operator:
        assert operator.call("set_offset", 2.5) == 2.5
    with _proxy(secured_server, client_context("viewer")) as viewer:
        assert viewer.call("get_offset") == 2.5
        assert viewer.ping() == "pong"
        with pytest.raises(PermissionError, match=r"key viewer .* needs the operator role"):
            viewer.call("set_offset", 9.0)
        with pytest.raises(RemoteError, match="needs the admin role"):
            viewer.quit()
    with _proxy(secured_server, client_context("operator")) as operator:
        assert operator.call("get_offset") == 2.5  # the refused command changed nothing
        with pytest.raises(PermissionError, match="admin role"):
            operator.quit()


def test_the_journal_records_the_identity_of_commands_and_refusals(
    secured_server: ControlServer, client_context: Callable[..., zmq.Context[Any]]
) -> None:
    with _proxy(secured_server, client_context("operator")) as operator:
        operator.call("set_offset", 1.0)
    with _proxy(secured_server, client_context("viewer")) as viewer:
        with pytest.raises(PermissionError):
            viewer.call("set_offset", 3.0)
    journal: list[CommandRecord] = secured_server.journal  # type: ignore[attr-defined]
    assert [(r.command, r.caller, r.ok) for r in journal] == [
        ("set_offset", "key operator", True),
        ("set_offset", "key viewer", False),
    ]
    assert journal[1].error is not None and journal[1].error.type == "Forbidden"


def test_a_client_without_a_key_or_with_an_unlisted_key_is_refused_at_the_socket(
    secured_server: ControlServer,
    client_context: Callable[..., zmq.Context[Any]],
    keys_folder: Path,
    tmp_path: Path,
) -> None:
    with _proxy(secured_server, client_context(None), timeout=0.5) as plain:
        with pytest.raises(ServerUnavailable):
            plain.ping()
    # A well-formed key pair that the facility never listed.
    stranger = tmp_path / "stranger"
    add_client(keys_folder, "stranger", "admin")
    keyring = Keyring.load(keys_folder, "stranger", serving=False)
    revoke_client(keys_folder, "stranger")  # its secret stays with the stranger
    context: zmq.Context[Any] = zmq.Context()
    try:
        curve.secure(context, keyring)
        refused_before = _refused(secured_server)
        with Proxy(secured_server.endpoint, context=context, timeout=0.5) as unknown:
            curve.reload(_context_of(secured_server))
            with pytest.raises(ServerUnavailable):
                unknown.ping()
        assert _refused(secured_server) > refused_before
    finally:
        curve.unsecure(context)
        context.destroy(linger=0)
    assert not stranger.exists()


def test_a_revoked_key_loses_its_rights_on_an_open_connection_at_the_next_reload(
    secured_server: ControlServer,
    client_context: Callable[..., zmq.Context[Any]],
    keys_folder: Path,
) -> None:
    add_client(keys_folder, "night-shift", "operator")
    curve.reload(_context_of(secured_server))
    with _proxy(secured_server, client_context("night-shift")) as shift:
        assert shift.call("set_offset", 4.0) == 4.0
        revoke_client(keys_folder, "night-shift")
        curve.reload(_context_of(secured_server))
        with pytest.raises(PermissionError, match="no longer admitted"):
            shift.call("set_offset", 5.0)


def test_only_a_delegate_key_may_call_for_a_user_and_never_above_its_own_role(
    secured_server: ControlServer, client_context: Callable[..., zmq.Context[Any]]
) -> None:
    viewer_user = {"user": "alice", "role": "viewer", "via": "web"}
    with _proxy(secured_server, client_context("lab"), on_behalf=viewer_user) as lab:
        assert lab.call("get_offset") == 0.0
        with pytest.raises(PermissionError, match="alice via web \\(key lab\\)"):
            lab.call("set_offset", 1.0)
    admin_claim = {"user": "mallory", "role": "admin", "via": "pipe"}
    with _proxy(secured_server, client_context("operator"), on_behalf=admin_claim) as operator:
        with pytest.raises(PermissionError, match="may not call on behalf"):
            operator.call("get_offset")
    journal: list[CommandRecord] = secured_server.journal  # type: ignore[attr-defined]
    assert [(r.command, r.caller, r.ok) for r in journal] == [
        ("get_offset", "alice via web (key lab)", True),
        ("set_offset", "alice via web (key lab)", False),
        ("get_offset", "key operator", False),
    ]


def test_a_grant_limits_a_role_to_the_named_servers(
    secured_server: ControlServer,
    client_context: Callable[..., zmq.Context[Any]],
    keys_folder: Path,
) -> None:
    add_client(keys_folder, "psu-only", "operator", devices=["psu"])
    curve.reload(_context_of(secured_server))
    with _proxy(secured_server, client_context("psu-only")) as limited:
        assert limited.call("get_offset") == 0.0
        with pytest.raises(PermissionError, match=r"\(viewer\) may not run 'set_offset' on bench"):
            limited.call("set_offset", 1.0)


def test_a_subscriber_needs_a_listed_key(
    secured_server: ControlServer, client_context: Callable[..., zmq.Context[Any]]
) -> None:
    received: list[Any] = []
    listed = Subscriber(name="t", context=client_context("viewer")).on("status/", received.append)
    listed.follow([secured_server.pub_endpoint])
    with listed.start():
        plain = client_context(None).socket(zmq.SUB)
        monitor = plain.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
        try:
            plain.connect(secured_server.pub_endpoint)
            event = recv_monitor_message(monitor)  # the handshake itself is refused
            assert event["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
        finally:
            plain.disable_monitor()
            monitor.close(linger=0)
            plain.close(linger=0)
        assert wait_until(lambda: bool(received))


def test_a_plain_socket_may_not_bind_beyond_loopback() -> None:
    server = ControlServer("open", _table(), endpoint="tcp://0.0.0.0:0")
    with pytest.raises(InsecureServer, match=r"without CURVE.*controlroom keys init"):
        server.start()
    server.stop()


def test_a_secured_socket_may_bind_beyond_loopback(server_context: zmq.Context[Any]) -> None:
    server = ControlServer("lab-net", _table(), context=server_context, endpoint="tcp://0.0.0.0:0")
    server.start()
    try:
        assert server.secured
    finally:
        server.stop()


def _context_of(server: ControlServer) -> zmq.Context[Any]:
    return server._context


def _refused(server: ControlServer) -> int:
    security = curve.security_of(_context_of(server))
    assert security is not None
    return security.refused_keys
