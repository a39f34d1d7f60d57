"""Pipe clients by token: each one's commands are checked and journaled under its name and role.

The tokens are hashed as ``controlroom web hash-password`` hashes them; the
pipe server runs in front of a real dummy control server whose command
observers are its journal.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pipe_client import LineClient, fallback_for

from controlroom.bridges.pipe import PipeConfig, PipeError, PipeServer
from controlroom.bridges.pipe.clients import PipeClient, PipeIdentity, Tokens
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer
from controlroom.rpc.hooks import CommandRecord
from controlroom.rpc.keyring import Keyring
from controlroom.web.sessions import hash_password

TOKENS = {"vera": "vera-token-1", "otto": "otto-token-2"}
ROLES = {"vera": "viewer", "otto": "operator"}
SHARED = "the-shared-token"
MakePipe = Callable[..., PipeServer]


@functools.cache
def _hash(token: str) -> str:
    return hash_password(token)  # argon2 is slow on purpose: once per token


def _clients() -> dict[str, PipeClient]:
    return {name: PipeClient(name, _hash(TOKENS[name]), ROLES[name]) for name in TOKENS}


@pytest.fixture
def dummy() -> Iterator[ControlServer]:
    server = ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=10.0)
    journal: list[CommandRecord] = []
    server.hooks.command_observers.append(journal.append)
    server.journal = journal  # type: ignore[attr-defined]
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_pipe(dummy: ControlServer) -> Iterator[MakePipe]:
    started: list[PipeServer] = []

    def make(**options: Any) -> PipeServer:
        allow = {"dummy": frozenset({"set_offset", "get_offset"})}
        config = PipeConfig(host="127.0.0.1", port=0, allow=allow, fallback=fallback_for(dummy))
        server = PipeServer(PipeConfig(**{**vars(config), **options})).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def _journal(dummy: ControlServer) -> list[tuple[str, str, bool]]:
    records: list[CommandRecord] = dummy.journal  # type: ignore[attr-defined]
    return [(r.command, r.caller, r.ok) for r in records if r.command == "set_offset"]


def _set_offset(pipe: PipeServer, token: str | None, value: float) -> str:
    with LineClient(pipe.address) as client:
        if token is not None:
            assert client.ask(f"TOKEN {token}") == "OK authorised"
        return client.ask(f"dummy|set_offset {value}")


def test_each_client_commands_as_itself_and_a_viewer_is_refused_naming_its_role(
    make_pipe: MakePipe, dummy: ControlServer
) -> None:
    pipe = make_pipe(clients=_clients())
    assert _set_offset(pipe, TOKENS["otto"], 1.5) == "OK"
    refused = _set_offset(pipe, TOKENS["vera"], 9.0)
    assert refused.startswith("ERR Forbidden: vera via pipe (key anonymous) (viewer) may not")
    assert refused.endswith("it needs the operator role")
    with LineClient(pipe.address) as client:  # a viewer still reads
        assert client.ask(f"TOKEN {TOKENS['vera']}") == "OK authorised"
        assert client.ask("dummy|get_offset") == "OK 1.5"
    assert _journal(dummy) == [
        ("set_offset", "otto via pipe (key anonymous)", True),
        ("set_offset", "vera via pipe (key anonymous)", False),
    ]


def test_with_clients_listed_a_connection_must_send_a_token_that_is_theirs(
    make_pipe: MakePipe,
) -> None:
    pipe = make_pipe(clients=_clients())
    with LineClient(pipe.address) as client:
        assert client.ask("dummy|get_offset") == "ERR unauthorised: send TOKEN <token> first"
        assert client.ask(f"TOKEN {_hash(TOKENS['otto'])}") == "ERR unauthorised: wrong token"
        assert client.closed_by_server()


def test_the_shared_token_is_the_client_pipe_with_the_operator_role(
    make_pipe: MakePipe, dummy: ControlServer
) -> None:
    pipe = make_pipe(clients=_clients(), token=SHARED)
    assert _set_offset(pipe, SHARED, 2.0) == "OK"
    assert _set_offset(pipe, TOKENS["otto"], 3.0) == "OK"
    assert _journal(dummy) == [
        ("set_offset", "pipe via pipe (key anonymous)", True),
        ("set_offset", "otto via pipe (key anonymous)", True),
    ]


@pytest.mark.parametrize(("role", "ok"), [("operator", True), ("viewer", False)])
def test_without_a_token_every_connection_is_pipe_anonymous_with_its_role(
    make_pipe: MakePipe, dummy: ControlServer, role: str, ok: bool
) -> None:
    pipe = make_pipe(anonymous_role=role)
    assert _set_offset(pipe, None, 4.0).startswith("OK" if ok else "ERR Forbidden")
    assert _journal(dummy) == [("set_offset", "pipe-anonymous via pipe (key anonymous)", ok)]


def test_with_curve_the_pipe_server_calls_with_the_lab_key_for_its_client(
    secured_instance: Keyring, make_pipe: MakePipe, dummy: ControlServer
) -> None:
    assert dummy.secured
    pipe = make_pipe(clients=_clients())
    assert _set_offset(pipe, TOKENS["otto"], 5.0) == "OK"
    assert _journal(dummy) == [("set_offset", "otto via pipe (key lab)", True)]


def test_tokens_tell_the_client_they_belong_to() -> None:
    tokens = Tokens(_clients(), token=SHARED)
    assert tokens.required and tokens.anonymous is None
    assert tokens.identify(TOKENS["vera"]) == PipeIdentity("vera", "viewer")
    assert tokens.identify(TOKENS["vera"]) == PipeIdentity("vera", "viewer")
    assert tokens.identify(SHARED) == PipeIdentity("pipe", "operator")
    assert tokens.identify("nobody's") is None
    assert Tokens({}, anonymous_role="viewer").anonymous == PipeIdentity("pipe-anonymous", "viewer")


def test_the_clients_come_from_the_settings_and_a_bad_one_is_named() -> None:
    entry = {"token_hash": _hash(TOKENS["otto"]), "role": "operator"}
    settings = {"bridges": {"pipe": {"clients": {"otto": entry}, "anonymous_role": "viewer"}}}
    config = PipeConfig.from_settings(settings)
    assert config.clients == {"otto": PipeClient("otto", entry["token_hash"], "operator")}
    assert config.tokens().identify(TOKENS["otto"]) == PipeIdentity("otto", "operator")
    bad = {"bridges": {"pipe": {"clients": {"otto": {**entry, "role": "boss"}}}}}
    with pytest.raises(PipeError, match=r"bridges\.pipe\.clients\.otto\.role"):
        PipeConfig.from_settings(bad)
    with pytest.raises(PipeError, match=r"bridges\.pipe\.anonymous_role: role must be one of"):
        PipeConfig(anonymous_role="boss").check()
    # Clients with their tokens are what it takes to listen beyond loopback.
    PipeConfig(host="0.0.0.0", port=0, clients=config.clients).check()
