"""The panel's self-signed certificate: what it is valid for, how its key is kept, no overwrite."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from controlroom.web.tlscert import TlsCertError, check_pair, make_self_signed


def _pair(folder: Path) -> tuple[Path, Path]:
    return folder / "tls" / "panel.crt", folder / "tls" / "panel.key"


def test_the_certificate_is_valid_for_every_name_and_address_given(tmp_path: Path) -> None:
    cert, key = _pair(tmp_path)
    make_self_signed(cert, key, ["lab-pc.example", "localhost", "127.0.0.1", "::1"])
    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["lab-pc.example", "localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    common = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert common[0].value == "lab-pc.example"
    assert certificate.issuer == certificate.subject  # self-signed


def test_the_key_is_ec_p256_readable_by_its_owner_only_and_matches(tmp_path: Path) -> None:
    cert, key = _pair(tmp_path)
    make_self_signed(cert, key, ["localhost"])
    assert key.stat().st_mode & 0o777 == 0o600
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert isinstance(private.curve, ec.SECP256R1)
    check_pair(cert, key)  # the key is the certificate's own


def test_the_certificate_lasts_the_days_asked(tmp_path: Path) -> None:
    cert, key = _pair(tmp_path)
    make_self_signed(cert, key, ["localhost"], days=30)
    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    lifetime = certificate.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(days=29) < lifetime <= datetime.timedelta(days=30)


@pytest.mark.parametrize("existing", ["cert", "key"])
def test_existing_files_are_never_overwritten(tmp_path: Path, existing: str) -> None:
    cert, key = _pair(tmp_path)
    path = cert if existing == "cert" else key
    other = key if existing == "cert" else cert
    path.parent.mkdir(parents=True)
    path.write_text("kept as it is")
    with pytest.raises(TlsCertError, match="exists: remove it first"):
        make_self_signed(cert, key, ["localhost"])
    assert path.read_text() == "kept as it is"
    assert not other.exists()  # nothing half-made either


def test_a_second_run_does_not_replace_the_first_pair(tmp_path: Path) -> None:
    cert, key = _pair(tmp_path)
    make_self_signed(cert, key, ["localhost"])
    first = cert.read_bytes(), key.read_bytes()
    with pytest.raises(TlsCertError):
        make_self_signed(cert, key, ["localhost"])
    assert (cert.read_bytes(), key.read_bytes()) == first


@pytest.mark.parametrize(("names", "days"), [([], 825), (["localhost"], 0), (["localhost"], 826)])
def test_impossible_requests_are_refused(tmp_path: Path, names: list[str], days: int) -> None:
    cert, key = _pair(tmp_path)
    with pytest.raises(TlsCertError):
        make_self_signed(cert, key, names, days=days)
    assert not cert.exists() and not key.exists()
