"""The files of a keys folder: where each lives, and reading and writing one safely.

Keys are ZeroMQ CURVE certificates in the format ``zmq.auth`` writes and reads
(a ``metadata`` section, then a ``curve`` section with ``public-key`` and, in a
secret certificate, ``secret-key``). ``zmq.auth.create_certificates`` puts the
metadata in the secret file only and leaves the secret file's mode to the umask
until someone fixes it; a client's role must be in its *public* file, and a
secret key must never be readable by others, not even for a moment, so the
files are written here, created with their final mode. They are read here too:
``zmq.auth.load_certificate`` skips the metadata and reads a file of any size.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import zmq
from zmq.utils import z85

from controlroom.rpc.errors import RpcError

ROLES = ("viewer", "operator", "admin")
MAX_KEY_FILE_BYTES = 64 * 1024
MAX_CLIENTS = 1000
KEY_CHARS = 40  # a 32-byte CURVE key in Z85
SECRET_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_DEVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # as the Settings name devices
_METADATA_VALUE = re.compile(r"[A-Za-z0-9_.,-]*")


class KeyringError(RpcError):
    """A keys folder, or a file in it, that cannot be used; the message names the file
    and what to do, and never quotes a key file's contents."""


def check_name(name: str, what: str = "key name") -> str:
    if not _NAME.fullmatch(name):
        raise KeyringError(
            f"{what} {name!r} is not valid: 1 to 64 of a-z, 0-9, '_', '.', '-', "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str, where: object = "") -> str:
    if role not in ROLES:
        prefix = f"{where}: " if where else ""
        raise KeyringError(f"{prefix}role {role!r} is not one of {', '.join(ROLES)}")
    return role


def check_device(name: str, where: object = "") -> str:
    if not _DEVICE.fullmatch(name):
        prefix = f"{where}: " if where else ""
        raise KeyringError(
            f"{prefix}device name {name!r} is not valid: 1 to 64 of letters, digits, "
            "'_', '.', '-', starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class KeyFolder:
    """Where each file of a keys folder is."""

    root: Path

    @property
    def server_public(self) -> Path:
        return self.root / "server.key"

    @property
    def server_secret(self) -> Path:
        return self.root / "server.key_secret"

    @property
    def clients(self) -> Path:
        return self.root / "clients"

    @property
    def private(self) -> Path:
        return self.root / "private"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    def client_public(self, name: str) -> Path:
        return self.clients / f"{check_name(name)}.key"

    def client_secret(self, name: str) -> Path:
        return self.private / f"{check_name(name)}.key_secret"

    def client_files(self) -> list[Path]:
        """The client certificates, by name; none when there is no ``clients`` folder."""
        paths = []
        try:
            with os.scandir(self.clients) as entries:
                for entry in entries:
                    if entry.name.endswith(".key"):
                        paths.append(self.clients / entry.name)
                    if len(paths) > MAX_CLIENTS:
                        raise KeyringError(f"{self.clients} holds more than {MAX_CLIENTS} keys")
        except FileNotFoundError:
            return []
        return sorted(paths)

    def make_folders(self) -> None:
        """Create the folders; ``private`` (and ``tls``, for the panel's key) only for us."""
        self.clients.mkdir(parents=True, exist_ok=True)
        for secret_folder in (self.private, self.tls):
            secret_folder.mkdir(mode=PRIVATE_FOLDER_MODE, exist_ok=True)
            secret_folder.chmod(PRIVATE_FOLDER_MODE)  # mkdir's mode is reduced by the umask


@dataclass(frozen=True)
class Certificate:
    """One certificate file: its keys (Z85 bytes) and its metadata."""

    path: Path
    public: bytes
    secret: bytes | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


def read_public(path: Path) -> Certificate:
    """The public certificate at ``path``."""
    sections = _sections(_read_text(path, secret=False), path)
    public = _key(sections.get("curve", {}).get("public-key"), path, "public-key")
    return Certificate(path, public, None, sections.get("metadata", {}))


def read_key_pair(path: Path) -> tuple[bytes, bytes]:
    """The public and secret key of the secret certificate at ``path``, which must be
    private to its owner and hold a secret key that matches its public key."""
    curve = _sections(_read_text(path, secret=True), path).get("curve", {})
    public = _key(curve.get("public-key"), path, "public-key")
    secret = _key(curve.get("secret-key"), path, "secret-key")
    if zmq.curve_public(secret) != public:
        raise KeyringError(f"{path}: its secret key does not belong to its public key")
    return public, secret


def _read_text(path: Path, *, secret: bool) -> str:
    try:
        return _read_bounded(path, secret=secret).decode("utf-8")
    except UnicodeDecodeError:
        raise KeyringError(f"{path} is not a key certificate (not UTF-8 text)") from None


def _read_bounded(path: Path, *, secret: bool) -> bytes:
    try:
        with path.open("rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise KeyringError(f"{path} is not a regular file")
            if secret and info.st_mode & 0o077:
                mode = stat.S_IMODE(info.st_mode)
                raise KeyringError(
                    f"{path} holds a secret key but other users may read or change it "
                    f"(mode {mode:o}): run `chmod 600 {path}`"
                )
            data = file.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise KeyringError(f"{path} is missing") from None
    except OSError as exc:
        raise KeyringError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyringError(f"{path} is larger than {MAX_KEY_FILE_BYTES} bytes: not a key file")
    return data


def _sections(text: str, path: Path) -> dict[str, dict[str, str]]:
    """``{section: {name: value}}`` of a certificate (the ZPL subset zmq writes)."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():  # a section header starts in the first column
            current = sections.setdefault(line.strip(), {})
            continue
        name, equals, value = line.strip().partition("=")
        if current is None or not equals:
            raise KeyringError(f"{path}:{number}: not a key certificate line (`name = value`)")
        current[name.strip()] = value.strip().strip("\"'")
    return sections


def _key(value: str | None, path: Path, what: str) -> bytes:
    if value is None:
        raise KeyringError(f"{path} is not a key certificate: it has no {what}")
    key = value.encode("utf-8")
    if len(key) != KEY_CHARS or any(byte not in z85.Z85CHARS for byte in key):
        raise KeyringError(f"{path}: its {what} is not a {KEY_CHARS}-character Z85 key")
    try:
        z85.decode(key)
    except struct.error:  # a 5-character group above 2**32: no key encodes to it
        raise KeyringError(f"{path}: its {what} is not a valid Z85 key") from None
    return key


def write_certificate(certificate: Certificate) -> None:
    """Create the file (never replacing one); a secret one gets mode 600 from the start."""
    lines = ["#   ZeroMQ CURVE certificate written by controlroom", "metadata"]
    for name, value in certificate.metadata.items():
        if not _METADATA_VALUE.fullmatch(value):
            raise KeyringError(f"metadata {name} = {value!r} has characters a key file cannot hold")
        lines.append(f"    {name} = {value}")
    lines += ["curve", f'    public-key = "{certificate.public.decode("ascii")}"']
    if certificate.secret is not None:
        lines.append(f'    secret-key = "{certificate.secret.decode("ascii")}"')
    mode = SECRET_MODE if certificate.secret is not None else 0o644
    try:
        descriptor = os.open(certificate.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise KeyringError(f"{certificate.path} exists already: not replacing it") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write("\n".join(lines) + "\n")
