"""``python -m controlroom.cli.devserver NAME``: a control server without the CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from controlroom.rpc import Proxy
from controlroom.testing.processes import ServerProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def local_settings(lab_settings: Callable[[dict[str, Any]], Path]) -> Path:
    dummy = {"commands": "tcp://127.0.0.1:0", "publish": "tcp://127.0.0.1:0"}
    return lab_settings({"devices": {"dummy": dummy}})


def test_the_lean_entry_serves_the_device_without_importing_the_cli(local_settings: Path) -> None:
    argv = [sys.executable, "-m", "controlroom.cli.devserver", "dummy"]
    with ServerProcess(argv) as server, Proxy(server.endpoint, timeout=10.0) as proxy:
        assert isinstance(proxy.request("read_value"), float)
        assert proxy.request("echo", ({"a": [1, 2]},)) == {"a": [1, 2]}
        info = proxy.info()
        assert info["name"] == "dummy"
        assert {"read_value", "set_offset"} <= {c["name"] for c in info["commands"]}


def test_the_lean_entry_imports_neither_typer_nor_rich() -> None:
    code = (
        "import sys, controlroom.cli.devserver; "
        "print(sorted(m for m in ('typer', 'rich', 'controlroom.cli.main') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
