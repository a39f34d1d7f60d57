"""The facility's keys: the server key pair, this process's own client key, and the
client keys the servers accept, each with a role, optional device grants, and
whether it may act on behalf of users it authenticated itself.

The folder (Settings ``security.keys``)::

    server.key, server.key_secret       the facility server pair (the secret: on serving hosts)
    clients/<name>.key                  the accepted client keys, role etc. in their metadata
    private/<name>.key_secret           client secrets; a workstation copies only its own
    tls/panel.crt, tls/panel.key        optional certificate of the web panel

``controlroom keys`` runs the writers below; servers read the folder again on reload.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from controlroom.rpc.keyfiles import (
    ROLES,
    Certificate,
    KeyFolder,
    KeyringError,
    check_device,
    check_name,
    check_role,
    read_key_pair,
    read_public,
    write_certificate,
)

__all__ = [
    "DEFAULT_IDENTITY",
    "IDENTITY_ENV",
    "ROLES",
    "ClientKey",
    "Keyring",
    "KeyringError",
    "add_client",
    "init_keys",
    "keyring_from_settings",
    "list_clients",
    "revoke_client",
]

IDENTITY_ENV = "CONTROLROOM_IDENTITY"
DEFAULT_IDENTITY = "lab"  # the key every controlroom process uses unless told otherwise


@dataclass(frozen=True)
class ClientKey:
    """An accepted client key; ``devices`` None means the role holds on every server."""

    name: str
    public: bytes
    role: str
    devices: frozenset[str] | None
    delegate: bool

    def metadata(self) -> dict[str, str]:
        devices = ",".join(sorted(self.devices or ()))
        return {"role": self.role, "devices": devices, "delegate": "yes" if self.delegate else "no"}


@dataclass(frozen=True)
class Keyring:
    """What one process needs from the keys folder."""

    folder: Path
    server_public: bytes
    server_secret: bytes | None  # None on a host that only connects
    identity: str
    client_public: bytes
    client_secret: bytes
    clients: dict[bytes, ClientKey]

    @classmethod
    def load(cls, folder: Path, identity: str, *, serving: bool = True) -> Keyring:
        """Read ``folder`` as client ``identity``; with ``serving`` the server secret is needed."""
        folder = Path(folder)
        keys = KeyFolder(folder)
        if not folder.is_dir():
            raise KeyringError(f"keys folder {folder} does not exist (run `controlroom keys init`)")
        server = read_public(keys.server_public)
        server_secret = _server_secret(keys, server, serving)
        own_public, own_secret = _own_key_pair(keys, check_name(identity, "identity"))
        clients = {client.public: client for client in list_clients(folder)}
        listed = next((c for c in clients.values() if c.name == identity), None)
        if listed is not None and listed.public != own_public:
            raise KeyringError(
                f"{keys.client_secret(identity)} does not belong to "
                f"{keys.client_public(identity)}: copy the secret key that "
                f"`controlroom keys add {identity}` made"
            )
        return cls(folder, server.public, server_secret, identity, own_public, own_secret, clients)

    def by_public(self, key: bytes) -> ClientKey | None:
        """The accepted client with public key ``key`` (Z85), if any."""
        return self.clients.get(key)


def _server_secret(keys: KeyFolder, server: Certificate, serving: bool) -> bytes | None:
    path = keys.server_secret
    if not path.exists():
        if not serving:
            return None
        raise KeyringError(
            f"{path} is missing: a host that serves needs the facility server's secret key; "
            f"copy it (mode 600) from the host that ran `controlroom keys init`, "
            f"or run `controlroom keys init --folder {keys.root}` to start a new facility"
        )
    public, secret = read_key_pair(path)
    if public != server.public:
        raise KeyringError(f"{path} does not belong to {server.path}: copy both from one host")
    return secret


def _own_key_pair(keys: KeyFolder, identity: str) -> tuple[bytes, bytes]:
    path = keys.client_secret(identity)
    if not path.exists():
        raise KeyringError(
            f"no secret key for identity {identity!r}: {path} is missing; copy it (mode 600) "
            f"from the keys folder where `controlroom keys add {identity}` made it, or set "
            f"${IDENTITY_ENV} (or security.identity) to a key this host has"
        )
    return read_key_pair(path)


def keyring_from_settings(settings: Mapping[str, Any], *, serving: bool = True) -> Keyring | None:
    """The keyring the Settings name; None when ``security.keys`` is empty (CURVE off).

    The identity is ``$CONTROLROOM_IDENTITY``, else ``security.identity``, else ``lab``.
    A relative folder is relative to the working directory.
    """
    security = settings.get("security") or {}
    folder = str(security.get("keys") or "").strip()
    if not folder:
        return None
    identity = os.environ.get(IDENTITY_ENV) or str(security.get("identity") or DEFAULT_IDENTITY)
    return Keyring.load(Path(folder).expanduser().absolute(), identity, serving=serving)


def list_clients(folder: Path) -> list[ClientKey]:
    """The accepted client keys in ``folder/clients``, by name (none if it has no such folder)."""
    keys = KeyFolder(folder)
    found = [_client(path) for path in keys.client_files()]
    _refuse_shared_keys(found, keys.clients)
    return found


def _client(path: Path) -> ClientKey:
    name = check_name(path.name.removesuffix(".key"), f"{path}: client name")
    certificate = read_public(path)
    metadata = certificate.metadata
    role = check_role(metadata.get("role", ""), path)
    delegate = metadata.get("delegate", "no")
    if delegate not in ("yes", "no"):
        raise KeyringError(f"{path}: delegate must be yes or no")
    devices = [d.strip() for d in metadata.get("devices", "").split(",") if d.strip()]
    return ClientKey(name, certificate.public, role, _devices(devices, path), delegate == "yes")


def _devices(names: Iterable[str], where: object) -> frozenset[str] | None:
    devices = frozenset(check_device(name, where) for name in names)
    return devices or None


def _refuse_shared_keys(clients: list[ClientKey], folder: Path) -> None:
    seen: dict[bytes, str] = {}
    for client in clients:
        if client.public in seen:
            raise KeyringError(
                f"{folder}: {seen[client.public]}.key and {client.name}.key hold the same key"
            )
        seen[client.public] = client.name


def init_keys(
    folder: Path, *, people: Iterable[str] = ("admin", "operator", "viewer")
) -> list[Path]:
    """A new keys folder: the server pair, ``lab`` (admin, delegate) and one client per
    role in ``people`` (each named after its role). The files made, in order."""
    keys = KeyFolder(folder)
    roles = [check_role(person) for person in dict.fromkeys(people)]  # once each, in order
    clients = [(DEFAULT_IDENTITY, "admin", True), *((role, role, False) for role in roles)]
    if keys.server_public.exists() or keys.server_secret.exists():
        raise KeyringError(
            f"{folder} has a server key already: not replacing it (every client would lose "
            "access); `controlroom keys add` adds clients"
        )
    for name, _, _ in clients:  # checked first: a refusal half way would leave half a folder
        _refuse_existing(keys, name)
    keys.make_folders()
    public, secret = zmq.curve_keypair()
    write_certificate(Certificate(keys.server_secret, public, secret))
    write_certificate(Certificate(keys.server_public, public))
    made = [keys.server_public, keys.server_secret]
    for name, role, delegate in clients:
        made += [add_client(folder, name, role, delegate=delegate), keys.client_secret(name)]
    return made


def add_client(
    folder: Path,
    name: str,
    role: str,
    devices: Iterable[str] | None = None,
    delegate: bool = False,
) -> Path:
    """Make the key pair of client ``name``; its public certificate (returned) is accepted
    by the servers from their next reload, its secret is ``private/<name>.key_secret``."""
    keys = KeyFolder(folder)
    public_path, secret_path = keys.client_public(name), keys.client_secret(name)
    if not keys.server_public.exists():
        raise KeyringError(f"{folder} is not a keys folder (run `controlroom keys init` first)")
    _refuse_existing(keys, name)
    public, secret = zmq.curve_keypair()
    client = ClientKey(name, public, check_role(role), _devices(devices or (), ""), delegate)
    keys.make_folders()
    write_certificate(Certificate(secret_path, public, secret, client.metadata()))
    try:
        write_certificate(Certificate(public_path, public, None, client.metadata()))
    except KeyringError:
        secret_path.unlink()  # made by us just now: leave no secret without its client
        raise
    return public_path


def revoke_client(folder: Path, name: str) -> list[Path]:
    """Remove client ``name``'s certificate and secret; servers refuse it from their next reload."""
    keys = KeyFolder(folder)
    public_path = keys.client_public(name)
    if not public_path.exists():
        raise KeyringError(f"no client {name!r} in {folder} ({public_path} is missing)")
    removed = [path for path in (public_path, keys.client_secret(name)) if path.exists()]
    for path in removed:
        path.unlink()
    return removed


def _refuse_existing(keys: KeyFolder, name: str) -> None:
    if keys.client_public(name).exists() or keys.client_secret(name).exists():
        raise KeyringError(f"client {name!r} exists already in {keys.root}: revoke it first")
