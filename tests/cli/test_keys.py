"""``controlroom keys``: init, add, list and revoke client keys, and the panel certificate."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from typer.testing import Result

from controlroom.rpc.keyring import Keyring

Cli = Callable[..., Result]
Controlroom = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def keys(cli: Cli, tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    result = cli("keys", "init", "--folder", str(folder))
    assert result.exit_code == 0, result.stderr
    return folder


def listed(cli: Cli, folder: Path) -> dict[str, dict[str, object]]:
    result = cli("keys", "list", "--folder", str(folder), "--json")
    assert result.exit_code == 0, result.stderr
    return {entry["name"]: entry for entry in json.loads(result.stdout)}


def test_init_makes_the_folder_and_says_what_to_put_in_the_settings(
    cli: Cli, tmp_path: Path
) -> None:
    folder = tmp_path / "keys"
    result = cli("keys", "init", "--folder", str(folder))
    assert result.exit_code == 0, result.stderr
    assert f"made {folder / 'server.key_secret'}" in result.stdout
    assert f"made {folder / 'private' / 'lab.key_secret'}" in result.stdout
    assert f"security:\n    keys: {folder}\n" in result.stdout
    assert stat.S_IMODE((folder / "private" / "lab.key_secret").stat().st_mode) == 0o600
    assert Keyring.load(folder, "lab").server_secret is not None


def test_init_twice_is_refused(cli: Cli, keys: Path) -> None:
    result = cli("keys", "init", "--folder", str(keys))
    assert result.exit_code == 1
    assert "has a server key already" in result.stderr


def test_list_shows_the_roles(cli: Cli, keys: Path) -> None:
    clients = listed(cli, keys)
    assert {name: entry["role"] for name, entry in clients.items()} == {
        "admin": "admin",
        "lab": "admin",
        "operator": "operator",
        "viewer": "viewer",
    }
    assert clients["lab"]["delegate"] is True and clients["lab"]["devices"] is None
    table = cli("keys", "list", "--folder", str(keys))
    assert table.exit_code == 0, table.stderr
    assert "operator" in table.stdout and str(clients["viewer"]["public_key"]) in table.stdout


def test_add_then_revoke(cli: Cli, keys: Path) -> None:
    added = cli(
        "keys", "add", "alice", "--role", "operator", "--device", "psu", "--device", "motion",
        "--folder", str(keys),
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert f"made {keys / 'private' / 'alice.key_secret'}" in added.stdout
    alice = listed(cli, keys)["alice"]
    assert alice["role"] == "operator" and alice["devices"] == ["motion", "psu"]
    assert alice["delegate"] is False
    revoked = cli("keys", "revoke", "alice", "--folder", str(keys))
    assert revoked.exit_code == 0, revoked.stderr
    assert f"removed {keys / 'clients' / 'alice.key'}" in revoked.stdout
    assert "alice" not in listed(cli, keys)


def test_add_refuses_a_duplicate_and_a_bad_role(cli: Cli, keys: Path) -> None:
    duplicate = cli("keys", "add", "operator", "--role", "viewer", "--folder", str(keys))
    assert duplicate.exit_code == 1
    assert "client 'operator' exists already" in duplicate.stderr
    bad_role = cli("keys", "add", "bob", "--role", "boss", "--folder", str(keys))
    assert bad_role.exit_code == 1
    assert "role 'boss' is not one of viewer, operator, admin" in bad_role.stderr
    assert "bob" not in listed(cli, keys)


def test_revoke_of_an_unknown_client_fails(cli: Cli, keys: Path) -> None:
    result = cli("keys", "revoke", "nobody", "--folder", str(keys))
    assert result.exit_code == 1
    assert "no client 'nobody'" in result.stderr


def test_init_with_tls_makes_the_panel_certificate(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    result = cli("keys", "init", "--folder", str(folder), "--tls")
    assert result.exit_code == 0, result.stderr
    cert, key = folder / "tls" / "panel.crt", folder / "tls" / "panel.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    names = subject_names(cert)
    assert {socket.gethostname(), "localhost", "127.0.0.1"} <= names


def test_tls_names_are_the_certificate_names(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    result = cli(
        "keys", "init", "--folder", str(folder), "--tls-name", "panel.lab", "--tls-name", "10.0.0.5"
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert subject_names(folder / "tls" / "panel.crt") == {"panel.lab", "10.0.0.5"}


def subject_names(cert: Path) -> set[str]:
    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(value) for value in names.get_values_for_type(x509.DNSName)} | {
        str(value) for value in names.get_values_for_type(x509.IPAddress)
    }


def test_the_folder_defaults_to_the_xdg_config_home(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    result = cli("keys", "init")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "config" / "controlroom" / "keys" / "server.key").is_file()


def test_the_folder_defaults_to_the_settings(
    keys: Path, local_settings: Path, tmp_path: Path, controlroom: Controlroom
) -> None:
    # A process of its own: with security.keys set, the CLI secures its zmq context.
    settings = yaml.safe_load(local_settings.read_text())
    settings["security"] = {"keys": str(keys)}
    path = tmp_path / "with-keys.yaml"
    path.write_text(yaml.safe_dump(settings))
    done = controlroom("--settings", str(path), "keys", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert {entry["name"] for entry in json.loads(done.stdout)} == {
        "admin",
        "lab",
        "operator",
        "viewer",
    }


def test_init_works_when_the_settings_name_a_folder_not_made_yet(
    local_settings: Path, tmp_path: Path, controlroom: Controlroom
) -> None:
    folder = tmp_path / "new-keys"
    settings = yaml.safe_load(local_settings.read_text())
    settings["security"] = {"keys": str(folder)}
    path = tmp_path / "with-keys.yaml"
    path.write_text(yaml.safe_dump(settings))
    done = controlroom("--settings", str(path), "keys", "init")
    assert done.returncode == 0, done.stderr
    assert Keyring.load(folder, "lab").identity == "lab"
    # Any other command with that folder now secures its sockets with it.
    listed = controlroom("--settings", str(path), "registry", "list", "--json", "--timeout", "0.2")
    assert "keys folder" not in listed.stderr
