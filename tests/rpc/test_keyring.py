"""The keys folder: made by the writers, read back as a Keyring, refused when unsafe or broken."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import zmq
import zmq.auth

from controlroom.config.settings import SettingsError, load_settings
from controlroom.rpc.errors import RpcError
from controlroom.rpc.keyring import (
    ROLES,
    Keyring,
    KeyringError,
    add_client,
    init_keys,
    keyring_from_settings,
    list_clients,
    revoke_client,
)

PEOPLE = ("admin", "operator", "viewer")


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    init_keys(folder)
    return folder


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_makes_the_server_pair_and_one_client_per_role(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    made = init_keys(folder)
    names = [str(path.relative_to(folder)) for path in made]
    assert names[:2] == ["server.key", "server.key_secret"]
    for name in ("lab", *PEOPLE):
        assert f"clients/{name}.key" in names and f"private/{name}.key_secret" in names
    assert all(path.is_file() for path in made)
    assert mode(folder / "server.key_secret") == 0o600
    assert mode(folder / "private") == 0o700
    assert {mode(path) for path in (folder / "private").iterdir()} == {0o600}
    assert mode(folder / "tls") == 0o700
    assert not mode(folder / "server.key") & 0o022  # public, but nobody else may change it


def test_load_gives_each_client_its_role(keys: Path) -> None:
    keyring = Keyring.load(keys, "lab")
    assert keyring.identity == "lab" and keyring.folder == keys
    assert keyring.server_secret is not None
    assert zmq.curve_public(keyring.server_secret) == keyring.server_public
    assert zmq.curve_public(keyring.client_secret) == keyring.client_public
    roles = {client.name: client.role for client in keyring.clients.values()}
    assert roles == {"lab": "admin", "admin": "admin", "operator": "operator", "viewer": "viewer"}
    lab = keyring.by_public(keyring.client_public)
    assert lab is not None and lab.name == "lab" and lab.delegate and lab.devices is None
    operator = next(c for c in keyring.clients.values() if c.name == "operator")
    assert not operator.delegate
    assert keyring.by_public(zmq.curve_keypair()[0]) is None
    assert len(keyring.server_public) == len(keyring.client_public) == 40


def test_files_are_zmq_certificates_both_ways(keys: Path) -> None:
    public, secret = zmq.auth.load_certificate(keys / "private" / "operator.key_secret")
    operator = next(c for c in list_clients(keys) if c.name == "operator")
    assert public == operator.public and secret is not None
    (keys / "server.key").unlink()
    (keys / "server.key_secret").unlink()
    zmq.auth.create_certificates(keys, "server")  # the secret with the umask's mode
    (keys / "server.key_secret").chmod(0o600)
    assert (
        Keyring.load(keys, "lab").server_public == zmq.auth.load_certificate(keys / "server.key")[0]
    )


def test_a_keyring_error_is_an_rpc_error() -> None:
    assert issubclass(KeyringError, RpcError)
    assert ROLES == ("viewer", "operator", "admin")


@pytest.mark.parametrize("secret", ["server.key_secret", "private/lab.key_secret"])
def test_a_secret_readable_by_the_group_is_refused(keys: Path, secret: str) -> None:
    path = keys / secret
    path.chmod(0o640)
    with pytest.raises(KeyringError, match="chmod 600") as caught:
        Keyring.load(keys, "lab")
    assert str(path) in str(caught.value)
    assert "640" in str(caught.value)


@pytest.mark.parametrize(
    "content",
    [
        b"TOPSECRETJUNK without any structure\n",
        b'curve\n    public-key = "TOPSECRETJUNK"\n',
        b'curve\n    public-key = "TOPSECRETJUNK~' + b"a" * 26 + b'"\n',
        b'curve\n    public-key = "TOPSECRETJUNK' + b"#" * 27 + b'"\n',
        b"metadata\n    role = admin\n",
        b"\xff\xfeTOPSECRETJUNK\n",
    ],
    ids=["no-structure", "short-key", "not-z85", "z85-overflow", "no-key", "not-utf8"],
)
def test_a_broken_public_certificate_is_refused_without_quoting_it(
    keys: Path, content: bytes
) -> None:
    path = keys / "clients" / "operator.key"
    path.write_bytes(content)
    with pytest.raises(KeyringError) as caught:
        Keyring.load(keys, "lab")
    assert str(path) in str(caught.value)
    assert "TOPSECRETJUNK" not in str(caught.value)


def test_a_key_file_over_64_kib_is_refused(keys: Path) -> None:
    path = keys / "clients" / "operator.key"
    path.write_text(path.read_text() + "# TOPSECRETJUNK\n" * 5000)  # valid, but too large
    with pytest.raises(KeyringError, match="larger than 65536 bytes") as caught:
        Keyring.load(keys, "lab")
    assert str(path) in str(caught.value) and "TOPSECRETJUNK" not in str(caught.value)


def test_a_client_without_a_valid_role_is_refused(keys: Path) -> None:
    path = keys / "clients" / "operator.key"
    path.write_text(path.read_text().replace("role = operator", "role = superuser"))
    with pytest.raises(KeyringError, match="role 'superuser' is not one of"):
        list_clients(keys)


def test_more_than_a_thousand_client_keys_are_refused(keys: Path) -> None:
    for number in range(1001):
        (keys / "clients" / f"c{number}.key").touch()
    with pytest.raises(KeyringError, match="more than 1000"):
        Keyring.load(keys, "lab")


def test_two_clients_with_one_key_are_refused(keys: Path) -> None:
    clients = keys / "clients"
    (clients / "copy.key").write_bytes((clients / "viewer.key").read_bytes())
    with pytest.raises(KeyringError, match=r"copy\.key and viewer\.key hold the same key"):
        list_clients(keys)


def test_revoke_removes_the_client(keys: Path) -> None:
    removed = revoke_client(keys, "operator")
    assert removed == [keys / "clients" / "operator.key", keys / "private" / "operator.key_secret"]
    assert not any(path.exists() for path in removed)
    assert "operator" not in {c.name for c in Keyring.load(keys, "lab").clients.values()}
    with pytest.raises(KeyringError, match="no client 'operator'"):
        revoke_client(keys, "operator")


def test_add_makes_a_client_with_devices_and_delegation(keys: Path) -> None:
    public = add_client(keys, "panel", "operator", ["psu", "motion"], delegate=True)
    assert public == keys / "clients" / "panel.key"
    assert mode(keys / "private" / "panel.key_secret") == 0o600
    panel = next(c for c in list_clients(keys) if c.name == "panel")
    assert panel.role == "operator" and panel.delegate
    assert panel.devices == frozenset({"psu", "motion"})
    assert Keyring.load(keys, "panel").client_public == panel.public


def test_add_refuses_a_duplicate_a_bad_role_and_bad_names(keys: Path) -> None:
    with pytest.raises(KeyringError, match="client 'operator' exists already"):
        add_client(keys, "operator", "viewer")
    with pytest.raises(KeyringError, match="role 'root' is not one of viewer, operator, admin"):
        add_client(keys, "alice", "root")
    with pytest.raises(KeyringError, match=r"key name '\.\./alice' is not valid"):
        add_client(keys, "../alice", "viewer")
    with pytest.raises(KeyringError, match="device name 'psu,motion' is not valid"):
        add_client(keys, "alice", "viewer", ["psu,motion"])
    assert not (keys / "clients" / "alice.key").exists()
    assert not (keys / "private" / "alice.key_secret").exists()


def test_add_needs_an_initialised_folder(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="keys init"):
        add_client(tmp_path, "alice", "viewer")


def test_init_refuses_to_replace_a_server_key(keys: Path) -> None:
    before = (keys / "server.key").read_bytes()
    with pytest.raises(KeyringError, match="server key already"):
        init_keys(keys)
    assert (keys / "server.key").read_bytes() == before


def test_settings_without_keys_give_no_keyring(keys: Path) -> None:
    assert keyring_from_settings({"security": {"keys": ""}}) is None
    assert keyring_from_settings({"security": {"allowed_packages": []}}) is None
    assert keyring_from_settings({}) is None


def test_settings_name_the_folder_and_the_identity(
    keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTROLROOM_IDENTITY", raising=False)
    keyring = keyring_from_settings({"security": {"keys": str(keys)}})
    assert keyring is not None and keyring.identity == "lab"
    keyring = keyring_from_settings({"security": {"keys": str(keys), "identity": "viewer"}})
    assert keyring is not None and keyring.identity == "viewer"


def test_controlroom_identity_picks_another_key(
    keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROLROOM_IDENTITY", "operator")
    keyring = keyring_from_settings({"security": {"keys": str(keys), "identity": "lab"}})
    assert keyring is not None and keyring.identity == "operator"
    operator = next(c for c in keyring.clients.values() if c.name == "operator")
    assert keyring.client_public == operator.public


def test_an_identity_without_its_secret_is_a_clear_error(
    keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (keys / "private" / "viewer.key_secret").unlink()
    monkeypatch.setenv("CONTROLROOM_IDENTITY", "viewer")
    with pytest.raises(KeyringError) as caught:
        keyring_from_settings({"security": {"keys": str(keys)}})
    message = str(caught.value)
    assert "identity 'viewer'" in message
    assert str(keys / "private" / "viewer.key_secret") in message


def test_a_host_that_serves_needs_the_server_secret(keys: Path) -> None:
    (keys / "server.key_secret").unlink()
    with pytest.raises(KeyringError, match="keys init") as caught:
        Keyring.load(keys, "lab")
    assert str(keys / "server.key_secret") in str(caught.value)
    assert Keyring.load(keys, "lab", serving=False).server_secret is None


def test_a_secret_of_another_pair_is_refused(keys: Path) -> None:
    other = keys / "private" / "operator.key_secret"
    (keys / "private" / "lab.key_secret").write_bytes(other.read_bytes())
    with pytest.raises(KeyringError, match=r"lab\.key_secret does not belong to"):
        Keyring.load(keys, "lab")


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="does not exist"):
        Keyring.load(tmp_path / "nowhere", "lab")


def test_the_settings_check_the_security_keys(
    keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTROLROOM_IDENTITY", raising=False)
    local = tmp_path / "local.yaml"
    local.write_text(f"security:\n  keys: {keys}\n  identity: operator\n")
    settings = load_settings(local)
    assert settings["security"]["anonymous_role"] == "admin"  # the packaged default
    keyring = keyring_from_settings(settings)
    assert keyring is not None and keyring.identity == "operator"
    local.write_text("security:\n  anonymous_role: root\n")
    with pytest.raises(SettingsError, match=r":2: security\.anonymous_role: Input should be"):
        load_settings(local)
    local.write_text("security:\n  identity: Lab Host\n")
    with pytest.raises(SettingsError, match=r"security\.identity: 'Lab Host' is not a key name"):
        load_settings(local)
