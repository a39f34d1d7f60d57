"""Who may talk to the lab across hosts: no key, an unknown key and a viewer key, on every path.

Host a runs the core services, host b the dummy's control server (as in
``test_multihost``); every client runs on host c. A client without a CURVE
key, or with a key pair the keys folder does not list, cannot even connect to
b's device or to a's services; the viewer key reads but is refused every
command, at each server, and the journal on a names it. The pipe-command
server on a gives its clients their roles by token, the MQTT bridge on a by
broker user: a viewer's command is refused there too. Last, a server that
would listen beyond loopback without keys does not start at all.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from multihost_clients import CALL_EACH, MQTT_COMMAND, PING_ALL, PIPE_SESSION
from multihost_helpers import (
    CLIENT,
    DEVICE,
    DEVICE_HOST,
    SERVER,
    SERVICES,
    Facility,
    controlroom,
    lab_settings,
)

from controlroom.rpc.child import module_argv
from controlroom.rpc.keyfiles import KeyFolder
from controlroom.rpc.keyring import add_client, init_keys
from controlroom.rpc.process import parse_ready_line
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until
from controlroom.web.sessions import hash_password
from netns_fixtures import refuse, started_hosts

VIEWER = "viewer"
STRANGER = "stranger"  # a key pair of its own, listed in no facility's clients/
PING_TIMEOUT_S = 3.0
JOURNALED_WITHIN_S = 20.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Facility]:
    """Core services on a, the dummy on b, running for the whole module."""
    folder = tmp_path_factory.mktemp("security")
    keys = folder / "keys"
    init_keys(keys)
    with started_hosts((SERVER, DEVICE_HOST, CLIENT)) as hosts:
        facility = Facility(hosts, lab_settings(hosts, folder, keys=keys), folder)
        facility.up(SERVER)
        facility.device_server()
        facility.call_by_name("ping")  # registered: clients find it by name from here on
        yield facility


def device_endpoint(lab: Facility) -> str:
    return str(lab.registered(CLIENT)[DEVICE]["endpoints"]["commands"])


def endpoint(lab: Facility, name: str) -> str:
    """Where server ``name`` (the dummy or a core service) takes commands."""
    if name == DEVICE:
        return device_endpoint(lab)
    return str(lab.settings["services"][name]["commands"])


def ping_all(lab: Facility, folder: Path | None, identity: str = "") -> dict[str, list[str]]:
    """From c: each server's answer to a ping, with that key (None: no CURVE at all)."""
    targets = {name: endpoint(lab, name) for name in (DEVICE, *SERVICES)}
    args = (json.dumps(targets), str(folder or ""), identity, str(PING_TIMEOUT_S))
    done = lab.python(CLIENT, PING_ALL, *args)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def call_each(lab: Facility, calls: list[tuple[str, str, list[Any]]]) -> list[list[str]]:
    """From c as the viewer: each (server, command, args) once; [outcome, message] of each."""
    plan = [[server, endpoint(lab, server), command, args] for server, command, args in calls]
    done = lab.python(CLIENT, CALL_EACH, json.dumps(plan), env=lab.env(CLIENT, VIEWER))
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def refused_at_the_socket(answers: dict[str, list[str]]) -> dict[str, str]:
    """The servers that did not refuse the connection, with what they said."""
    return {
        name: f"{outcome}: {said}"
        for name, (outcome, said) in answers.items()
        if outcome != "ServerUnavailable"
    }


def test_the_lab_key_reaches_every_server(lab: Facility) -> None:
    """The probe itself works: with a listed key every server answers."""
    keys = Path(lab.settings["security"]["keys"])
    answers = ping_all(lab, keys, "lab")
    assert all(answer == ["answered", "pong"] for answer in answers.values()), answers


def test_a_client_without_a_key_cannot_connect(lab: Facility) -> None:
    answers = ping_all(lab, None)
    assert refused_at_the_socket(answers) == {}
    assert "a server with CURVE keys refuses a client without them" in answers[DEVICE][1]


def test_a_client_with_a_key_the_lab_does_not_list_cannot_connect(lab: Facility) -> None:
    facility_keys = KeyFolder(Path(lab.settings["security"]["keys"]))
    scratch = lab.folder / "scratch-keys"
    scratch.mkdir()
    shutil.copy(facility_keys.server_public, KeyFolder(scratch).server_public)
    add_client(scratch, STRANGER, "admin")  # an admin of its own folder only
    answers = ping_all(lab, scratch, STRANGER)
    assert refused_at_the_socket(answers) == {}
    assert f"does not admit this client's key {STRANGER!r}" in answers[DEVICE][1]


def test_a_viewer_reads_everywhere(lab: Facility) -> None:
    value = lab.cli(CLIENT, "call", DEVICE, "read_value", "--json", identity=VIEWER)
    assert value.returncode == 0, value.stderr
    assert isinstance(json.loads(value.stdout), float)
    listed = lab.cli(CLIENT, "registry", "list", "--json", identity=VIEWER)
    assert listed.returncode == 0, listed.stderr
    assert DEVICE in {entry["name"] for entry in json.loads(listed.stdout)}
    journal = lab.cli(CLIENT, "journal", "--json", identity=VIEWER)
    assert journal.returncode == 0, journal.stderr


def test_a_viewer_may_not_command_the_device(lab: Facility) -> None:
    done = lab.cli(CLIENT, "call", DEVICE, "set_offset", "1", identity=VIEWER)
    assert done.returncode != 0, done.stdout
    assert "key viewer (viewer) may not run 'set_offset' on dummy" in done.stderr
    assert "operator role" in done.stderr
    offset = lab.cli(CLIENT, "call", DEVICE, "get_offset", "--json")
    assert offset.returncode == 0, offset.stderr
    assert json.loads(offset.stdout) == 0.0


def test_a_viewer_may_not_change_the_core_services(lab: Facility) -> None:
    intruder = {"commands": f"tcp://{lab.hosts.address(CLIENT)}:5555"}
    calls: list[tuple[str, str, list[Any]]] = [
        ("registry", "register", ["intruder", intruder, {}]),
        ("storage", "store", ["DUMMY", []]),
        ("confman", "submit_setup", [{"devices": {}}, "from a viewer"]),
        ("confman", "load_setup", [1]),
        ("procman", "stop", ["scenarios"]),
    ]
    answers = call_each(lab, calls)
    for (server, command, _), (outcome, message) in zip(calls, answers, strict=True):
        assert outcome == "Forbidden", f"{server} {command}: {outcome}: {message}"
        assert f"key viewer (viewer) may not run {command!r} on {server}" in message
    assert "intruder" not in lab.registered(CLIENT)


def test_a_viewer_may_not_change_setups_with_the_cli(lab: Facility) -> None:
    setup = lab.folder / "viewer-setup.yaml"
    setup.write_text("devices: {}\n")
    submitted = lab.cli(CLIENT, "setup", "submit", str(setup), "-m", "viewer", identity=VIEWER)
    assert submitted.returncode != 0, submitted.stdout
    assert "may not run 'submit_setup' on confman" in submitted.stderr
    loaded = lab.cli(CLIENT, "setup", "load", "1", identity=VIEWER)
    assert loaded.returncode != 0, loaded.stdout
    assert "may not run 'load_setup' on confman" in loaded.stderr


def test_a_viewer_may_not_quit_a_server(lab: Facility) -> None:
    answers = call_each(lab, [(DEVICE, "quit", []), ("registry", "quit", [])])
    for outcome, message in answers:
        assert outcome == "Forbidden", message
        assert "it needs the admin role" in message
    assert lab.call_by_name("ping")["value"] == "pong"  # both still serve


def journal_of(lab: Facility, server: str) -> list[dict[str, Any]]:
    done = lab.cli(SERVER, "journal", "--server", server, "--json", "--limit", "200")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def refusals(entries: list[dict[str, Any]], caller: str) -> dict[str, str]:
    """Command -> error type of the journal entries of ``caller`` that were refused."""
    return {
        str(entry["command"]): str(entry.get("error_type"))
        for entry in entries
        if entry.get("caller") == caller and entry.get("outcome") != "ok"
    }


def journaled(lab: Facility, server: str, caller: str, commands: set[str]) -> dict[str, str]:
    """The refusals of ``caller`` the journal on a holds for ``server``, once it holds
    ``commands`` (or after JOURNALED_WITHIN_S)."""
    found: dict[str, str] = {}

    def stored() -> bool:
        found.update(refusals(journal_of(lab, server), caller))
        return commands <= set(found)

    wait_until(stored, JOURNALED_WITHIN_S, every_s=0.5)
    return found


def test_the_journal_on_a_names_the_viewer_in_the_devices_refusals(lab: Facility) -> None:
    lab.cli(CLIENT, "call", DEVICE, "set_offset", "2", identity=VIEWER)
    call_each(lab, [(DEVICE, "quit", [])])
    found = journaled(lab, DEVICE, "key viewer", {"set_offset", "quit"})
    assert found == {"set_offset": "Forbidden", "quit": "Forbidden"}


CORE_REFUSALS: list[tuple[str, str, list[Any]]] = [
    ("registry", "register", ["intruder", {"commands": "tcp://198.51.100.3:5"}, {}]),
    ("storage", "store", ["DUMMY", []]),
    ("confman", "load_setup", [1]),
    ("procman", "stop", ["scenarios"]),
]


def test_the_journal_on_a_names_the_viewer_in_the_core_services_refusals(lab: Facility) -> None:
    answers = call_each(lab, CORE_REFUSALS)
    assert [outcome for outcome, _ in answers] == ["Forbidden"] * len(CORE_REFUSALS)
    for server, command, _ in CORE_REFUSALS:
        # Each host's process manager serves (and journals) as procman@<host>.
        name = f"procman@{SERVER}" if server == "procman" else server
        found = journaled(lab, name, "key viewer", {command})
        assert found.get(command) == "Forbidden", f"{server} {command}: {found}"


def test_a_server_listening_beyond_loopback_without_keys_does_not_start(tmp_path: Path) -> None:
    with started_hosts((SERVER, DEVICE_HOST)) as hosts:
        plain = Facility(hosts, lab_settings(hosts, tmp_path, keys=None), tmp_path)
        plain.settings["devices"][DEVICE].update(commands="tcp://0.0.0.0:0")
        argv = module_argv("controlroom.processes.device", DEVICE)
        done = hosts.execute(DEVICE_HOST, argv, env=plain.env(DEVICE_HOST), timeout=60.0)
    assert done.returncode != 0, done.stdout
    assert "without CURVE" in done.stderr, done.stderr


# -- the pipe-command server on a: its clients' roles come from their tokens ----------

PIPE_TOKENS = {
    "bench-viewer": ("viewer-token-1", VIEWER),
    "bench-operator": ("op-token-2", "operator"),
}


@pytest.fixture
def pipe_url(lab: Facility) -> Iterator[tuple[str, int]]:
    """The pipe server on a's address, with a viewer and an operator client."""
    clients = {
        name: {"token_hash": hash_password(token), "role": role}
        for name, (token, role) in PIPE_TOKENS.items()
    }
    lab.settings["bridges"] = {"pipe": {"clients": clients}}
    address = lab.hosts.address(SERVER)
    argv = controlroom("pipe", "run", "--host", address, "--port", "0")
    server = lab.hosts.run(SERVER, argv, env=lab.env(SERVER), ready=parse_ready_line)
    try:
        host, port = str(server.info["url"]).removeprefix("tcp://").rsplit(":", 1)
        yield host, int(port)
    finally:
        server.stop()


def pipe_session(lab: Facility, url: tuple[str, int], token: str, *lines: str) -> list[str]:
    done = lab.python(CLIENT, PIPE_SESSION, url[0], str(url[1]), token, *lines)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_a_pipe_client_with_a_viewer_token_reads_but_may_not_command(
    lab: Facility, pipe_url: tuple[str, int]
) -> None:
    token = PIPE_TOKENS["bench-viewer"][0]
    authorised, read, command = pipe_session(
        lab, pipe_url, token, f"{DEVICE}|read_value", f"{DEVICE}|set_offset 1"
    )
    assert authorised == "OK authorised"
    assert read.startswith("OK "), read
    assert command.startswith("ERR "), command
    assert "bench-viewer via pipe (key lab) (viewer) may not run 'set_offset'" in command
    assert "operator role" in command
    found = journaled(lab, DEVICE, "bench-viewer via pipe (key lab)", {"set_offset"})
    assert found == {"set_offset": "Forbidden"}


def test_a_pipe_client_with_a_wrong_token_is_refused(
    lab: Facility, pipe_url: tuple[str, int]
) -> None:
    done = lab.python(CLIENT, PIPE_SESSION, pipe_url[0], str(pipe_url[1]), "guessed")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["ERR unauthorised: wrong token"]


def test_a_pipe_client_with_an_operator_token_commands(
    lab: Facility, pipe_url: tuple[str, int]
) -> None:
    token = PIPE_TOKENS["bench-operator"][0]
    answers = pipe_session(lab, pipe_url, token, f"{DEVICE}|set_offset 0")
    assert answers == ["OK authorised", "OK"]


# -- the MQTT bridge on a: its users' roles come from their broker login --------------

BROKER_USERS = {"controlroom": "bridge-pw", "vic": "vic-pw", "ops": "ops-pw"}
MQTT_ROLES = {"vic": VIEWER, "ops": "operator"}
MQTT_PREFIX = "crlab"
BROKER_CONFIG = """\
listener {port} {address}
allow_anonymous false
password_file {folder}/passwd
acl_file {folder}/acl
persistence false
user root
"""
# Each user may publish commands under its own name only (the README's ACL).
BROKER_ACL = """\
user controlroom
topic readwrite {prefix}/#

pattern read {prefix}/#
pattern write {prefix}/+/set/%u/#
"""


def mosquitto_programs() -> tuple[str, str]:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not (Path(found).exists() and Path(passwd).exists()):
        refuse("the mosquitto and mosquitto_passwd programs are not installed")
    return found, passwd


@pytest.fixture
def broker(lab: Facility, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A Mosquitto on a's address with logins and the ACL, and the MQTT bridge on a."""
    mosquitto, passwd = mosquitto_programs()
    folder = tmp_path / "mosquitto"
    folder.mkdir()
    for user, password in BROKER_USERS.items():
        create = [] if (folder / "passwd").exists() else ["-c"]
        subprocess.run([passwd, "-b", *create, str(folder / "passwd"), user, password], check=True)
    (folder / "passwd").chmod(0o600)
    address, port = lab.hosts.address(SERVER), free_tcp_port()
    (folder / "acl").write_text(BROKER_ACL.format(prefix=MQTT_PREFIX))
    config = BROKER_CONFIG.format(port=port, address=address, folder=folder)
    (folder / "conf").write_text(config)
    started = [lab.hosts.run(SERVER, [mosquitto, "-c", str(folder / "conf")])]
    lab.settings.setdefault("bridges", {})["mqtt"] = {
        "host": address,
        "port": port,
        "username": "controlroom",
        "password": BROKER_USERS["controlroom"],
        "prefix": MQTT_PREFIX,
        "discovery": False,
        "users": MQTT_ROLES,
        "allow": {DEVICE: ["set_offset"]},
        "refresh_s": 0.5,
    }
    try:
        argv = controlroom("mqtt", "run")
        started.append(lab.hosts.run(SERVER, argv, env=lab.env(SERVER), ready=parse_ready_line))
        yield address, port
    finally:
        for process in reversed(started):
            process.stop()


def mqtt_command(lab: Facility, broker: tuple[str, int], user: str, value: str) -> dict[str, Any]:
    """From c as broker ``user``: set_offset VALUE on the dummy through the bridge; its result."""
    base = f"{MQTT_PREFIX}/{lab.settings['site']}"
    args = (broker[0], str(broker[1]), user, BROKER_USERS[user], base, DEVICE, "set_offset", value)
    done = lab.python(CLIENT, MQTT_COMMAND, *args)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_an_mqtt_user_with_the_viewer_role_may_not_command(
    lab: Facility, broker: tuple[str, int]
) -> None:
    result = mqtt_command(lab, broker, "vic", "1")
    assert result["ok"] is False, result
    assert "vic via mqtt (key lab) (viewer) may not run 'set_offset'" in result["error"]
    assert "operator role" in result["error"]
    found = journaled(lab, DEVICE, "vic via mqtt (key lab)", {"set_offset"})
    assert found == {"set_offset": "Forbidden"}


def test_an_mqtt_user_with_the_operator_role_commands(
    lab: Facility, broker: tuple[str, int]
) -> None:
    result = mqtt_command(lab, broker, "ops", "0")
    assert result["ok"] is True, result
