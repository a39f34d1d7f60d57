"""The MQTT bridge behind a Mosquitto with logins and the README's ACL: the broker user is real.

A private Mosquitto (the machine's ``mosquitto`` program, its own config,
password file and ACL in a temporary folder, on a free port) runs for each
test. Each broker user may publish command requests under its own name only,
so the user in a request topic is the one the broker authenticated: a
request published under another user's name never reaches the bridge.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mqtt_broker import BROKER_HOST, Listener, unique

from controlroom.bridges.mqtt import MqttBridge, MqttConfig, load_units
from controlroom.config.schema.mqtt import MqttBridgeSettings
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer
from controlroom.rpc.hooks import CommandRecord
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

SITE = "LAB"
PASSWORDS = {"controlroom": "bridge-pw", "ops": "ops-pw", "ada": "ada-pw", "mallory": "mal-pw"}
USERS = {"ops": "operator", "ada": "admin"}  # mallory logs in to the broker, but is not listed
# The ACL the README recommends, for the test's own prefixes.
ACL = """\
user controlroom
topic readwrite {prefix}/#
topic readwrite {discovery}/#

pattern read {prefix}/#
pattern write {prefix}/+/set/%u/#
"""
CONFIG = """\
listener {port} 127.0.0.1
allow_anonymous false
password_file {folder}/passwd
acl_file {folder}/acl
persistence false
user root
"""


def _programs() -> tuple[str, str]:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not (Path(found).exists() and Path(passwd).exists()):
        reason = "the mosquitto and mosquitto_passwd programs are not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Mosquitto: {reason}")
        pytest.skip(reason)
    return found, passwd


@dataclass(frozen=True)
class Broker:
    port: int
    prefix: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{SITE}"

    def client(self, user: str, filters: list[str]) -> Listener:
        return Listener(filters, port=self.port, user=user, password=PASSWORDS[user])


def _accepts(port: int) -> bool:
    try:
        socket.create_connection((BROKER_HOST, port), timeout=1.0).close()
    except OSError:
        return False
    return True


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    mosquitto, passwd = _programs()
    folder = tmp_path / "mosquitto"
    folder.mkdir()
    for user, password in PASSWORDS.items():
        create = ["-c"] if not (folder / "passwd").exists() else []
        subprocess.run([passwd, "-b", *create, str(folder / "passwd"), user, password], check=True)
    (folder / "passwd").chmod(0o600)
    prefix, port = unique("cr-acl"), free_tcp_port()
    (folder / "acl").write_text(ACL.format(prefix=prefix, discovery=f"{prefix}-ha"))
    (folder / "conf").write_text(CONFIG.format(port=port, folder=folder))
    with (folder / "log").open("wb") as log:
        process = subprocess.Popen([mosquitto, "-c", str(folder / "conf")], stderr=log)
    try:
        assert wait_until(lambda: _accepts(port) or process.poll() is not None, 10.0)
        assert process.poll() is None, (folder / "log").read_text()
        yield Broker(port, prefix)
    finally:
        process.terminate()
        process.wait(10.0)


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
def bridge(broker: Broker, dummy: ControlServer) -> Iterator[MqttBridge]:
    settings = MqttBridgeSettings(
        host=BROKER_HOST,
        port=broker.port,
        username="controlroom",
        password=PASSWORDS["controlroom"],
        client_id=unique("bridge"),
        prefix=broker.prefix,
        discovery_prefix=f"{broker.prefix}-ha",
        discovery=False,
        users=USERS,
        allow={"dummy": ["set_offset"]},
        refresh_s=0.2,
    )
    extra = {"dummy": {"commands": dummy.endpoint, "publish": dummy.pub_endpoint}}
    started = MqttBridge(MqttConfig(settings, site=SITE, extra=extra), units=load_units({}))
    started.start()
    try:
        assert started.subscribed.wait(10.0)
        assert wait_until(lambda: started.watcher.endpoint_of("dummy") != "", 10.0)
        yield started
    finally:
        started.stop()


def _journal(dummy: ControlServer) -> list[tuple[str, str, bool]]:
    records: list[CommandRecord] = dummy.journal  # type: ignore[attr-defined]
    return [(r.command, r.caller, r.ok) for r in records if r.command == "set_offset"]


def test_a_user_commands_under_its_own_name_and_cannot_take_another_users(
    broker: Broker, bridge: MqttBridge, dummy: ControlServer
) -> None:
    with broker.client("ops", [f"{broker.base}/result/#"]) as ops:
        # Under ada's name (an admin): the broker drops it, the bridge never sees it.
        ops.publish(f"{broker.base}/set/ada/dummy/set_offset", "9")
        ops.publish(f"{broker.base}/set/ops/dummy/set_offset", "2.5")
        answer = json.loads(ops.wait_for(f"{broker.base}/result/ops/dummy/set_offset"))
    assert answer["ok"] is True
    # The bridge takes its messages in order: the first would have been handled before.
    assert bridge.desk is not None and (bridge.desk.accepted, bridge.desk.refused) == (1, 0)
    assert _journal(dummy) == [("set_offset", "ops via mqtt (key anonymous)", True)]


def test_a_broker_user_not_listed_is_refused_on_its_result_topic(
    broker: Broker, bridge: MqttBridge, dummy: ControlServer
) -> None:
    with broker.client("mallory", [f"{broker.base}/result/#"]) as mallory:
        mallory.publish(f"{broker.base}/set/mallory/dummy/set_offset", "9")
        answer = json.loads(mallory.wait_for(f"{broker.base}/result/mallory/dummy/set_offset"))
    assert answer == {
        "server": "dummy",
        "command": "set_offset",
        "ok": False,
        "error": "broker user 'mallory' may not command: it is not in bridges.mqtt.users",
    }
    assert _journal(dummy) == []
