"""Which host of the Settings a process runs on, from its environment and its machine."""

from __future__ import annotations

from typing import Any

import pytest

from controlroom.rpc.hosts import (
    HOST_ENV,
    UnknownHost,
    host_address,
    is_loopback,
    is_unplaced,
    local_names,
    this_host,
)

LAB = {"default": "127.0.0.1", "server": "10.0.0.1", "bench": "10.0.0.2"}
SERVER_MACHINE = ["localhost", "127.0.0.1", "lab-pc-1", "10.0.0.1"]
NO_ENV: dict[str, str] = {}


def settings_of(hosts: dict[str, str]) -> dict[str, Any]:
    return {"hosts": hosts}


def test_the_environment_names_the_host_whatever_the_machine_says() -> None:
    env = {HOST_ENV: "bench"}
    assert this_host(settings_of(LAB), SERVER_MACHINE, environ=env) == "bench"


def test_a_host_the_settings_do_not_list_is_refused_by_name() -> None:
    with pytest.raises(UnknownHost, match=r"CONTROLROOM_HOST: 'hexapod' is not a host.*server"):
        this_host(settings_of(LAB), SERVER_MACHINE, environ={HOST_ENV: "hexapod"})


def test_an_interface_address_beats_the_loopback_entry_every_machine_matches() -> None:
    assert this_host(settings_of(LAB), SERVER_MACHINE, environ=NO_ENV) == "server"
    bench = ["127.0.0.1", "10.0.0.2", "lab-pc-1"]  # a clone: the same machine name
    assert this_host(settings_of(LAB), bench, environ=NO_ENV) == "bench"


def test_the_entry_named_after_the_machine_comes_next() -> None:
    hosts = {"default": "127.0.0.1", "lab-pc-1": "192.168.7.7"}
    assert this_host(settings_of(hosts), SERVER_MACHINE, environ=NO_ENV) == "lab-pc-1"


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        ({"default": "127.0.0.1", "server": "10.9.9.9"}, "default"),  # loopback: any machine
        ({"lab": "127.0.0.1"}, "lab"),  # the only host, on loopback
        ({"server": "10.9.9.9"}, "default"),  # nothing matches
        ({}, "default"),
    ],
)
def test_otherwise_the_loopback_entry_or_default(hosts: dict[str, str], expected: str) -> None:
    assert this_host(settings_of(hosts), SERVER_MACHINE, environ=NO_ENV) == expected


def test_a_host_name_as_address_matches_the_machine_name_long_or_short() -> None:
    hosts = {"default": "127.0.0.1", "server": "LAB-PC-1.example.org"}
    assert this_host(settings_of(hosts), SERVER_MACHINE, environ=NO_ENV) == "server"
    # An IP address is never shortened: 10.0.0.1 does not match a machine named "10".
    assert this_host(settings_of({"x": "10.0.0.7"}), ["10"], environ=NO_ENV) == "default"


def test_without_names_the_machine_s_own_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOST_ENV, raising=False)
    assert this_host(settings_of({"here": "127.0.0.1"})) == "here"
    assert {"127.0.0.1", "localhost"} <= local_names()


def test_addresses_that_name_no_machine() -> None:
    assert all(is_loopback(a) for a in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(a) for a in ("10.0.0.1", "lab-pc", "0.0.0.0"))
    assert all(is_unplaced(a) for a in ("0.0.0.0", "*", "[::]", "127.0.0.1"))
    assert not is_unplaced("10.0.0.1")
    assert host_address(settings_of(LAB), "bench") == "10.0.0.2"
    assert host_address(settings_of(LAB), "hexapod") is None
