"""`controlroom mqtt run` in its own process: ready line, availability, last will on a kill."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mqtt_broker import BROKER_HOST, BROKER_PORT, Listener, clear_retained, require_broker, unique

from controlroom.config.settings import load_settings
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy
from controlroom.services.registry.server import build_server
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.processes import ServerProcess

ANY_PORT = "tcp://127.0.0.1:0"
SITE = "LAB"


@pytest.fixture
def registry_with_dummy() -> Iterator[ControlServer]:
    """A registry on OS ports that knows a running dummy server."""
    registry = build_server(load_settings(None), endpoint=ANY_PORT, pub_endpoint=ANY_PORT)
    dummy = ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=0.1)
    registry.start()
    dummy.start()
    try:
        with Proxy(registry.endpoint) as proxy:
            endpoints = {"commands": dummy.endpoint, "publish": dummy.pub_endpoint}
            proxy.request("register", ("dummy", endpoints))
        yield registry
    finally:
        dummy.stop()
        registry.stop()


def test_the_bridge_says_online_and_its_last_will_says_offline_when_killed(
    tmp_path: Path, registry_with_dummy: ControlServer
) -> None:
    require_broker()
    prefix, discovery = unique("cr-proc"), unique("ha-proc")
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        yaml.safe_dump(
            {
                "site": SITE,
                "services": {
                    "registry": {
                        "commands": registry_with_dummy.endpoint,
                        "publish": registry_with_dummy.pub_endpoint,
                    }
                },
                "bridges": {
                    "mqtt": {
                        "host": BROKER_HOST,
                        "port": BROKER_PORT,
                        "prefix": prefix,
                        "discovery_prefix": discovery,
                        "client_id": unique("bridge-proc"),
                        "refresh_s": 0.2,
                        "ping_timeout_s": 0.5,
                    }
                },
            }
        )
    )
    argv = [sys.executable, "-m", "controlroom.cli.main", "--settings", str(settings)]
    bridge = ServerProcess([*argv, "mqtt", "run"])
    availability = f"{prefix}/{SITE}/bridge/availability"
    try:
        with Listener([f"{prefix}/#"]) as listener:
            bridge.start()
            assert bridge.endpoints == {"name": "mqtt", "broker": f"{BROKER_HOST}:{BROKER_PORT}"}
            assert listener.wait_for(availability) == "online"
            assert listener.wait_for(f"{prefix}/{SITE}/dummy/availability") == "online"
            listener.wait_for(f"{prefix}/{SITE}/dummy/DUMMY_VALUE")
            bridge.kill()  # SIGKILL by PID: no goodbye, the broker sends the last will
            assert listener.wait_for(availability, "offline") == "offline"
            last = listener.last(availability)
            assert last is not None
        with Listener([availability]) as latecomer:  # the will was retained
            assert latecomer.wait_for(availability) == "offline"
    finally:
        bridge.stop()
        clear_retained([f"{prefix}/#", f"{discovery}/#"])


def test_a_clean_stop_says_offline_too(tmp_path: Path) -> None:
    require_broker()
    prefix = unique("cr-proc")
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        yaml.safe_dump(
            {
                "site": SITE,
                "bridges": {
                    "mqtt": {
                        "prefix": prefix,
                        "discovery": False,
                        "client_id": unique("bridge-proc"),
                    }
                },
            }
        )
    )
    argv = [sys.executable, "-m", "controlroom.cli.main", "--settings", str(settings)]
    bridge = ServerProcess([*argv, "mqtt", "run", "--port", str(BROKER_PORT)])
    availability = f"{prefix}/{SITE}/bridge/availability"
    try:
        with Listener([f"{prefix}/#"]) as listener:
            bridge.start()
            assert listener.wait_for(availability) == "online"
            assert bridge.stop() == 0  # SIGTERM: the bridge says goodbye itself
            assert listener.wait_for(availability, "offline") == "offline"
    finally:
        bridge.stop()
        clear_retained([f"{prefix}/#"])


def test_no_broker_is_a_clear_error(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("bridges:\n  mqtt:\n    connect_timeout_s: 1.0\n")
    port = free_tcp_port()  # nothing listens there
    argv = [sys.executable, "-m", "controlroom.cli.main", "--settings", str(settings)]
    done = subprocess.run(
        [*argv, "mqtt", "run", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"no connection to the MQTT broker at 127.0.0.1:{port} within 1 s" in done.stderr
    assert "READY" not in done.stdout
