"""``controlroom web``: serve with a ready line, refuse unsafe settings, hash passwords."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml
from argon2 import PasswordHasher
from typer.testing import CliRunner

from controlroom.cli.main import app
from controlroom.testing.processes import ServerProcess

Controlroom = Callable[..., "subprocess.CompletedProcess[str]"]


def test_web_run_announces_its_url_once_it_serves(local_settings: Path) -> None:
    argv = [sys.executable, "-m", "controlroom.cli.main", "web", "run", "--port", "0"]
    with ServerProcess(argv, ready_timeout=30.0) as panel:
        url = panel.endpoints["url"]
        assert panel.endpoints["name"] == "web" and url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}login").status_code == 200
        assert httpx.get(f"{url}api/session").status_code == 401
        assert httpx.get(f"{url}static/app.js").status_code == 200
        code = panel.stop()
    assert code == 0


def test_web_run_refuses_anonymous_access_on_a_public_address(
    tmp_path: Path, local_settings: Path, controlroom: Controlroom
) -> None:
    settings = yaml.safe_load(local_settings.read_text())
    settings["web"] = {"allow_anonymous": True}
    path = tmp_path / "anonymous.yaml"
    path.write_text(yaml.safe_dump(settings))
    done = controlroom("--settings", str(path), "web", "run", "--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 1
    assert "allow_anonymous" in done.stderr and "READY" not in done.stdout


def test_hash_password_prints_an_argon2_hash_of_the_password(local_settings: Path) -> None:
    result = CliRunner().invoke(app, ["web", "hash-password", "--password-stdin"], input="s3cret\n")
    assert result.exit_code == 0, result.output
    digest = result.stdout.strip()
    assert digest.startswith("$argon2id$")
    assert PasswordHasher().verify(digest, "s3cret")


def test_hash_password_refuses_an_empty_password(local_settings: Path) -> None:
    result = CliRunner().invoke(app, ["web", "hash-password", "--password-stdin"], input="\n")
    assert result.exit_code == 1
