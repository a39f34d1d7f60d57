"""``controlroom lease`` and ``release`` against a dummy server running in this process."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq
from typer.testing import Result

from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy

Cli = Callable[..., Result]
UNTIL = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture
def dummy(write_settings: Callable[..., Any]) -> Iterator[ControlServer]:
    """A dummy server the Settings point at (its real port, taken at bind)."""
    context: zmq.Context[Any] = zmq.Context()
    server = ControlServer("dummy", DeviceService(DummySensor()), context=context)
    server.start()
    write_settings(dummy={"commands": server.endpoint, "publish": server.pub_endpoint})
    yield server
    server.stop()
    context.destroy(linger=0)


@pytest.fixture
def alice(dummy: ControlServer) -> Iterator[Proxy]:
    """Another person, named by a delegate (anonymous on loopback, as the panel would)."""
    claim = {"user": "alice", "role": "operator", "via": "web"}
    context: zmq.Context[Any] = zmq.Context()
    with Proxy(dummy.endpoint, context=context, timeout=2.0, on_behalf=claim) as proxy:
        yield proxy
    context.destroy(linger=0)


def _error_line(result: Result) -> str:
    assert result.exit_code == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_lease_takes_the_server_for_this_identity_and_release_gives_it_back(
    cli: Cli, dummy: ControlServer, alice: Proxy
) -> None:
    assert cli("lease", "dummy").stdout.strip() == "dummy is not leased"
    taken = cli("lease", "dummy", "60")
    assert taken.exit_code == 0, taken.stderr
    assert re.fullmatch(
        rf"dummy is leased by anonymous until {UNTIL} \(00:0\d:\d\d left\)\n", taken.stdout
    )
    with pytest.raises(PermissionError, match="dummy is leased by anonymous"):
        alice.call("set_offset", 1.0)
    assert cli("call", "dummy", "set_offset", "2").exit_code == 0  # the holder commands
    shown = cli("lease", "dummy", "--json")
    assert json.loads(shown.stdout)["holder"] == "anonymous"
    released = cli("release", "dummy")
    assert released.stdout.strip() == "dummy released"
    alice.call("set_offset", 3.0)
    assert alice.call("get_offset") == 3.0
    assert cli("release", "dummy").stdout.strip() == "dummy was not leased"


def test_a_lease_held_by_someone_else_is_named_and_an_admin_breaks_it(
    cli: Cli, dummy: ControlServer, alice: Proxy
) -> None:
    alice.lease(60)
    held = rf"dummy is leased by alice via web \(key anonymous\) until {UNTIL}"
    assert re.search(held, _error_line(cli("call", "dummy", "set_offset", "5")))
    assert re.search(held, _error_line(cli("lease", "dummy", "30")))
    assert re.search(held, _error_line(cli("release", "dummy")))
    assert alice.call("get_offset") == 0.0  # the refused command changed nothing
    # Without CURVE the CLI is anonymous, whose role (anonymous_role) is admin here.
    broken = cli("release", "dummy", "--force")
    assert broken.stdout.strip() == "dummy released", broken.stderr
    assert alice.lease_status() is None


def test_lease_checks_its_length_before_calling(cli: Cli, dummy: ControlServer) -> None:
    refused = cli("lease", "dummy", "0.5")
    assert refused.exit_code == 2
    assert "Invalid value for 'seconds'" in refused.stderr
    assert cli("lease", "dummy").stdout.strip() == "dummy is not leased"
