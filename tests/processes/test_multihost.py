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
from multihost_clients import CALL_BY_NAME, PANEL_DEVICES
from multihost_helpers import (
    CLIENT,
    DEVICE,
    DEVICE_HOST,
    DEVICE_INFO,
    HK_NAME,
    HK_STORED_WITHIN_S,
    PANEL,
    PASSWORD,
    READY_TIMEOUT_S,
    REGISTERED_WITHIN_S,
    SERVER,
    USER,
    Facility,
    lab_settings,
    panel_settings,
)

from controlroom.rpc.child import module_argv
from controlroom.rpc.keyring import init_keys
from controlroom.rpc.process import parse_ready_line
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


SECOND_HOST, SECOND = CLIENT, "probe"  # a second control server, on host c


def test_four_hosts_services_on_a_servers_on_b_and_c_the_panel_on_d(tmp_path: Path) -> None:
    """Proxies and the panel reach every device by name; HK from b and c is stored on a."""
    keys = tmp_path / "keys"
    init_keys(keys)
    with started_hosts((SERVER, DEVICE_HOST, SECOND_HOST, PANEL)) as hosts:
        facility = Facility(hosts, lab_settings(hosts, tmp_path, keys=keys), tmp_path)
        facility.settings["devices"][SECOND] = {
            "controller": "controlroom.devices.dummy:DummySensor",
            "commands": f"tcp://{hosts.address(SECOND_HOST)}:0",
            "publish": f"tcp://{hosts.address(SECOND_HOST)}:0",
            "hk_period_s": 0.2,
        }
        cafile = panel_settings(facility)
        facility.up(SERVER)
        facility.device_server()
        hosts.run(
            SECOND_HOST,
            module_argv("controlroom.processes.device", SECOND),
            env=facility.env(SECOND_HOST),
            ready=parse_ready_line,
        )
        panel = hosts.run(
            PANEL,
            module_argv("controlroom.web", "--port", "0"),
            env=facility.env(PANEL),
            ready=parse_ready_line,
            ready_timeout=READY_TIMEOUT_S,
        )
        for name, host in ((DEVICE, DEVICE_HOST), (SECOND, SECOND_HOST)):
            args = (name, "device_info", str(REGISTERED_WITHIN_S))
            done = facility.python(PANEL, CALL_BY_NAME, *args)
            assert done.returncode == 0, done.stderr
            found = json.loads(done.stdout)
            assert found["value"] == DEVICE_INFO
            assert found["entry"]["metadata"]["host"] == host

        def panel_shows_both() -> bool:
            args = (str(panel.info["url"]), str(cafile), USER, PASSWORD)
            done = facility.python(PANEL, PANEL_DEVICES, *args, timeout=30.0)
            lights = json.loads(done.stdout) if done.returncode == 0 else {}
            return lights.get(DEVICE) is True and lights.get(SECOND) is True

        assert wait_until(panel_shows_both, REGISTERED_WITHIN_S, every_s=0.5)

        def origins() -> set[str]:
            done = facility.cli(PANEL, "hk", "names", "--json")
            assert done.returncode == 0, done.stderr
            return {str(row.get("origin")) for row in json.loads(done.stdout)}

        # Each row keeps its provenance: the origin of the server (and host) that made it.
        assert wait_until(lambda: {"DUMMY", "PROBE"} <= origins(), HK_STORED_WITHIN_S, every_s=0.5)
