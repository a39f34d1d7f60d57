"""``python -m controlroom.processes.device|service|bridge``: the processes, without the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from controlroom.processes.service import CORE_SERVICES
from controlroom.rpc import Proxy
from controlroom.services.procman.specs import SERVICES
from controlroom.testing.processes import ServerProcess

pytestmark = pytest.mark.integration

ANY_PORT = "tcp://127.0.0.1:0"
ENTRIES = ("controlroom.processes.device", "controlroom.processes.service")


def test_the_device_entry_serves_the_device(local_settings: Path) -> None:
    argv = [sys.executable, "-m", "controlroom.processes.device", "dummy"]
    with ServerProcess(argv) as server, Proxy(server.endpoint, timeout=10.0) as proxy:
        assert isinstance(proxy.request("read_value"), float)
        assert proxy.request("echo", ({"a": [1, 2]},)) == {"a": [1, 2]}
        info = proxy.info()
        assert info["name"] == "dummy"
        assert {"read_value", "set_offset"} <= {c["name"] for c in info["commands"]}


def test_the_service_entry_serves_a_core_service_with_its_options(local_settings: Path) -> None:
    argv = [sys.executable, "-m", "controlroom.processes.service", "registry"]
    argv += ["--endpoint", ANY_PORT, "--pub-endpoint", ANY_PORT, "--ttl", "0.5"]
    with ServerProcess(argv) as server, Proxy(server.endpoint, timeout=10.0) as proxy:
        assert proxy.request("list_services") == []
        proxy.quit()
        assert server.child.process.wait(10.0) == 0


def test_a_bridge_that_cannot_start_says_why_in_one_line(local_settings: Path) -> None:
    argv = [sys.executable, "-m", "controlroom.processes.bridge", "pipe", "--host", "0.0.0.0"]
    done = subprocess.run(
        [*argv, "--port", "0"], check=False, capture_output=True, text=True, timeout=60.0
    )
    assert done.returncode == 1
    assert "error: " in done.stderr and "0.0.0.0" in done.stderr
    assert "Traceback" not in done.stderr and "READY" not in done.stdout


@pytest.mark.parametrize("entry", [*ENTRIES, "controlroom.processes.bridge"])
def test_the_entries_import_neither_typer_nor_rich_nor_the_panel(entry: str) -> None:
    heavy = ("typer", "rich", "controlroom.cli", "controlroom.web", "controlroom.obs")
    code = f"import sys, {entry}; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_process_manager_runs_every_core_service_defined() -> None:
    assert list(CORE_SERVICES) == [*SERVICES, "procman"]  # procman is not its own child
