"""The panel's HTTPS settings: required off loopback, both keys, files checked before serving."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from panel_helpers import panel_settings

from controlroom.web import WebConfigError, create_app
from controlroom.web.config import TlsFiles, WebConfig, check_tls
from controlroom.web.discovery import StaticDiscovery
from controlroom.web.serve import listening_url, tls_of
from controlroom.web.tlscert import make_self_signed

MARKER = "NOT-FOR-THE-LOG"  # planted in bad files: an error message must never quote a file


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "panel.crt", tmp_path / "panel.key"
    make_self_signed(cert, key, ["localhost", "127.0.0.1"])
    return cert, key


def _config(cert: Path | str = "", key: Path | str = "") -> WebConfig:
    return WebConfig.from_settings({"web": {"tls_cert": str(cert), "tls_key": str(key)}})


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "lab-pc.example", "::"])
def test_a_panel_others_can_reach_refuses_to_start_without_tls(host: str) -> None:
    with pytest.raises(WebConfigError) as refused:
        create_app(panel_settings(), bind_host=host, discovery=StaticDiscovery({}))
    message = str(refused.value)
    assert "web.tls_cert" in message and "web.tls_key" in message
    assert "controlroom keys init --tls" in message and host in message


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_without_tls_serves_plain_http(host: str) -> None:
    assert check_tls(_config(), host) is None
    app = create_app(panel_settings(), bind_host=host, discovery=StaticDiscovery({}))
    assert tls_of(app) is None


def test_with_a_pair_a_public_address_is_served_over_https(pair: tuple[Path, Path]) -> None:
    cert, key = pair
    settings = panel_settings(tls_cert=str(cert), tls_key=str(key))
    app = create_app(settings, bind_host="0.0.0.0", discovery=StaticDiscovery({}))
    assert tls_of(app) == TlsFiles(cert, key)


@pytest.mark.parametrize("given", ["cert", "key"])
def test_one_of_the_two_keys_alone_is_refused(pair: tuple[Path, Path], given: str) -> None:
    cert, key = pair
    config = _config(cert=cert) if given == "cert" else _config(key=key)
    empty = "web.tls_key" if given == "cert" else "web.tls_cert"
    with pytest.raises(WebConfigError, match=rf"{empty} is empty"):
        check_tls(config, "127.0.0.1")


@pytest.mark.parametrize("which", ["cert", "key"])
def test_a_missing_file_names_the_settings_key(pair: tuple[Path, Path], which: str) -> None:
    cert, key = pair
    gone = cert.with_name("gone.pem")
    config = _config(gone, key) if which == "cert" else _config(cert, gone)
    with pytest.raises(WebConfigError, match=rf"web\.tls_{which}: there is no file .*gone\.pem"):
        check_tls(config, "0.0.0.0")


def test_a_folder_instead_of_a_file_names_the_settings_key(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    with pytest.raises(WebConfigError, match=r"web\.tls_cert: .* is not a file"):
        check_tls(_config(tmp_path, pair[1]), "0.0.0.0")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_key_others_may_read_is_refused(pair: tuple[Path, Path], mode: int) -> None:
    cert, key = pair
    key.chmod(mode)
    with pytest.raises(WebConfigError, match=r"web\.tls_key: .*chmod 600"):
        check_tls(_config(cert, key), "0.0.0.0")


def test_a_certificate_that_is_not_one_is_refused_without_quoting_it(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    junk = tmp_path / "junk.crt"
    junk.write_text(f"-----BEGIN CERTIFICATE-----\n{MARKER}\n-----END CERTIFICATE-----\n")
    with pytest.raises(WebConfigError, match=r"web\.tls_cert: .* not a PEM certificate") as bad:
        check_tls(_config(junk, pair[1]), "0.0.0.0")
    assert MARKER not in str(bad.value)


def test_a_key_that_is_not_one_is_refused_without_quoting_it(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    junk = tmp_path / "junk.key"
    junk.write_text(f"-----BEGIN PRIVATE KEY-----\n{MARKER}\n-----END PRIVATE KEY-----\n")
    junk.chmod(0o600)
    with pytest.raises(WebConfigError, match=r"web\.tls_key: .* not a PEM private key") as bad:
        check_tls(_config(pair[0], junk), "0.0.0.0")
    assert MARKER not in str(bad.value)


def test_another_certificates_key_is_refused(pair: tuple[Path, Path], tmp_path: Path) -> None:
    make_self_signed(tmp_path / "other.crt", tmp_path / "other.key", ["localhost"])
    with pytest.raises(WebConfigError, match=r"web\.tls_key: .* not the private key of"):
        check_tls(_config(pair[0], tmp_path / "other.key"), "0.0.0.0")


def test_a_key_with_a_passphrase_is_refused(pair: tuple[Path, Path], tmp_path: Path) -> None:
    # The panel starts unattended: OpenSSL would otherwise wait for a passphrase on the terminal.
    locked = tmp_path / "locked.key"
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    locked.write_bytes(pem)
    locked.chmod(0o600)
    with pytest.raises(WebConfigError, match=r"web\.tls_key: .* is encrypted"):
        check_tls(_config(pair[0], locked), "0.0.0.0")


@pytest.mark.parametrize(
    ("address", "scheme", "url"),
    [
        (("0.0.0.0", 8443), "https", "https://127.0.0.1:8443/"),
        (("::1", 8443, 0, 0), "https", "https://[::1]:8443/"),
        (("127.0.0.1", 8080), "http", "http://127.0.0.1:8080/"),
    ],
)
def test_the_announced_url_says_how_it_is_served(
    address: tuple[object, ...], scheme: str, url: str
) -> None:
    assert listening_url([address], scheme) == url
