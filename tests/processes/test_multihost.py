"""A lab on three hosts (network namespaces): the core services on host a, a control server
on host b, a client on host c; every host reads the same Settings (but its own state folder).

Host a runs ``controlroom up`` (the process manager and the core services, bound
to a's address); host b runs the dummy sensor's control server, bound to b's
address, which registers with the registry on a and sends its housekeeping to
the storage manager on a; host c finds it by name through the registry. Last,
each host runs a process manager of its own for what the Setup places there.
Sockets beyond loopback need CURVE, so the hosts share a keys folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from multihost_helpers import (
    CLIENT,
    DEVICE,
    DEVICE_HOST,
    DEVICE_INFO,
    HK_NAME,
    HK_STORED_WITHIN_S,
    SERVER,
    Facility,
    lab_settings,
)

from controlroom.rpc.keyring import init_keys
from controlroom.testing.waiting import wait_until
from netns_fixtures import started_hosts


@pytest.fixture
def facility(tmp_path: Path) -> Iterator[Facility]:
    keys = tmp_path / "keys"
    init_keys(keys)
    with started_hosts((SERVER, DEVICE_HOST, CLIENT)) as hosts:
        yield Facility(hosts, lab_settings(hosts, tmp_path, keys=keys), tmp_path)


@pytest.fixture
def running(facility: Facility) -> Facility:
    """Core services on a and the dummy on b, running."""
    facility.up(SERVER)
    server = facility.device_server()
    assert server.info["commands"].startswith(f"tcp://{facility.hosts.address(DEVICE_HOST)}:")
    return facility


def test_a_client_on_one_host_calls_a_device_on_another_by_name(running: Facility) -> None:
    found = running.call_by_name("device_info")
    assert found["value"] == DEVICE_INFO
    entry = found["entry"]
    assert entry["endpoints"]["commands"].startswith(f"tcp://{running.hosts.address(DEVICE_HOST)}:")
    assert entry["metadata"]["host"] == DEVICE_HOST


def test_housekeeping_made_on_one_host_is_stored_on_another(running: Facility) -> None:
    def stored() -> list[float]:
        done = running.cli(CLIENT, "hk", "get", HK_NAME, "--since", "1h", "--json")
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout)["values"])

    assert wait_until(stored, HK_STORED_WITHIN_S, every_s=0.2), "no HK of the dummy stored on a"


def test_a_device_bound_to_every_address_advertises_its_own_host(facility: Facility) -> None:
    wildcard = "tcp://0.0.0.0:0"
    facility.settings["devices"][DEVICE].update(commands=wildcard, publish=wildcard)
    facility.up(SERVER)
    facility.device_server()
    found = facility.call_by_name("device_info")
    assert found["value"] == DEVICE_INFO
    address = facility.hosts.address(DEVICE_HOST)
    assert found["entry"]["endpoints"]["commands"].startswith(f"tcp://{address}:")


def test_the_cli_calls_a_device_on_another_host_by_name(running: Facility) -> None:
    running.call_by_name("ping")  # registered by now: the CLI could find it
    done = running.cli(CLIENT, "call", DEVICE, "device_info", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == DEVICE_INFO


def test_each_host_runs_what_the_setup_places_there(facility: Facility) -> None:
    setup = facility.folder / "setup.yaml"
    setup.write_text(yaml.safe_dump({"devices": {DEVICE: {"host": DEVICE_HOST}}}))
    facility.up(SERVER, "--setup", str(setup))
    facility.up(DEVICE_HOST)
    found = facility.call_by_name("device_info")
    assert found["value"] == DEVICE_INFO
    assert found["entry"]["metadata"]["host"] == DEVICE_HOST
