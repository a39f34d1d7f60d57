"""A self-signed certificate for the panel's HTTPS (``controlroom keys init --tls``).

A lab panel on a facility network has no public name a certificate authority
would sign, so the panel gets its own certificate, and the operators' browsers
(or ``curl --cacert``) are told to trust that one file. :func:`make_self_signed`
writes it with an EC P-256 key, valid for every host name and address the
panel is reached at (its subjectAltName), and the key readable by its owner
only. Existing files are never replaced: a new certificate means every
browser has to trust it again, so replacing one is a deliberate ``rm`` first.

:func:`check_pair` is what the panel runs before it serves: both files
readable, the key private to its owner and without a passphrase (the panel
starts unattended), and the key the certificate's own. Its messages name the
files, never what is in them.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import stat
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_MODE = 0o600
CERT_MODE = 0o644
# Browsers refuse certificates valid for longer than 825 days.
MAX_DAYS = 825
MAX_PEM_BYTES = 1 << 20  # a certificate chain or key is a few KiB; refuse to read more

Which = Literal["cert", "key"]


class TlsCertError(ValueError):
    """The certificate cannot be made or used as asked; the message says why."""


class TlsFileError(TlsCertError):
    """The certificate (``which`` "cert") or its key ("key") cannot be served with."""

    def __init__(self, which: Which, message: str) -> None:
        super().__init__(message)
        self.which = which


def make_self_signed(cert: Path, key: Path, names: list[str], days: int = MAX_DAYS) -> None:
    """Write a self-signed certificate ``cert`` and its private key ``key`` (mode 600).

    ``names`` are the host names and IP addresses the panel is reached at; the
    first one is also the certificate's common name. Refuses to overwrite
    either file, and writes neither when one exists.
    """
    if not names:
        raise TlsCertError("name at least one host name or address the panel is reached at")
    if not 1 <= days <= MAX_DAYS:
        raise TlsCertError(f"days must be 1..{MAX_DAYS} (browsers refuse longer), not {days}")
    for path in (cert, key):
        if path.exists():
            raise TlsCertError(f"{path} exists: remove it first to make a new certificate")
    private = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(private, names, days)
    _write_new(key, _key_pem(private), KEY_MODE)
    try:
        _write_new(cert, certificate.public_bytes(serialization.Encoding.PEM), CERT_MODE)
    except BaseException:
        key.unlink()  # a key without its certificate is of no use and would block a retry
        raise


def subject_names(names: list[str]) -> list[x509.GeneralName]:
    """Each name as an IP address entry when it is one, else as a DNS name."""
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name.strip("[]"))))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


def _certificate(
    private: ec.EllipticCurvePrivateKey, names: list[str], days: int
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)  # self-signed: it vouches for itself
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # clocks of clients drift
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(subject_names(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(private, hashes.SHA256())
    )


def _key_pem(private: ec.EllipticCurvePrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),  # the panel starts unattended: no passphrase to type
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the start (never briefly readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.chmod(path, mode)  # the umask may have taken bits away from ``mode``; set it exactly


def check_pair(cert: Path, key: Path) -> None:
    """Refuse a certificate and key the panel cannot serve with (see the module doc)."""
    certificate = _load_certificate(cert)
    private = _load_private_key(key)
    if _public_der(private.public_key()) != _public_der(certificate.public_key()):
        raise TlsFileError("key", f"{key} is not the private key of the certificate {cert}")


def _load_certificate(path: Path) -> x509.Certificate:
    data = _read_pem(path, "cert")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise TlsFileError("cert", f"{path} is not a PEM certificate") from None


def _load_private_key(path: Path) -> PrivateKeyTypes:
    mode = _stat(path, "key").st_mode & 0o777
    if mode & 0o077:
        raise TlsFileError(
            "key",
            f"{path} has mode {mode:o}, so users other than its owner may read it: "
            f"chmod 600 {path}",
        )
    data = _read_pem(path, "key")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:  # cryptography's way of saying "encrypted"
        raise TlsFileError(
            "key", f"{path} is encrypted: the panel starts unattended, give it a key without one"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsFileError("key", f"{path} is not a PEM private key") from None


def _stat(path: Path, which: Which) -> os.stat_result:
    try:
        status = path.stat()
    except FileNotFoundError:
        raise TlsFileError(which, f"there is no file {path}") from None
    except OSError as exc:
        raise TlsFileError(which, f"cannot reach {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(status.st_mode):
        raise TlsFileError(which, f"{path} is not a file")
    return status


def _read_pem(path: Path, which: Which) -> bytes:
    _stat(path, which)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        raise TlsFileError(which, f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_PEM_BYTES:
        raise TlsFileError(which, f"{path} is larger than {MAX_PEM_BYTES} bytes: not a PEM file")
    return data


def _public_der(public: PublicKeyTypes) -> bytes:
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
