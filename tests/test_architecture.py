"""Meta-tests: conventions the whole code base keeps."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import tomllib
from pathlib import Path

import pytest

import controlroom

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "controlroom"


def _top_level_packages() -> set[str]:
    return {m.name for m in pkgutil.iter_modules(controlroom.__path__) if m.ispkg}


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["importlinter"]["contracts"])


def test_every_top_level_package_is_in_the_layers_contract() -> None:
    layers = next(c for c in _contracts() if c["type"] == "layers")
    named = " ".join(str(layer) for layer in layers["layers"])  # type: ignore[attr-defined]
    outside_layers = {
        "config",
        "testing",
        "storage",
        "telemetry",
    }  # plain libraries, checked by forbidden
    missing = {p for p in _top_level_packages() - outside_layers if f"controlroom.{p}" not in named}
    assert not missing, f"add {sorted(missing)} to the import-linter layers in pyproject.toml"


def _python_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("forbidden", ["pickle", "cPickle", "dill", "cloudpickle", "marshal"])
def test_nothing_imports_a_serialiser_that_runs_code(forbidden: str) -> None:
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] == forbidden for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders


def test_no_eval_or_exec_in_the_package() -> None:
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"eval", "exec", "compile"}
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders


def _shipped_drivers() -> list[str]:
    import controlroom.devices as devices

    return sorted(m.name for m in pkgutil.iter_modules(devices.__path__) if m.ispkg)


@pytest.mark.parametrize("driver", _shipped_drivers())
def test_every_shipped_driver_has_docs_tests_and_a_simulator(driver: str) -> None:
    package = importlib.import_module(f"controlroom.devices.{driver}")
    assert (package.__doc__ or "").strip(), f"controlroom.devices.{driver} needs a docstring"
    tests = ROOT / "tests" / "devices" / driver
    assert tests.is_dir() and any(tests.glob("test_*.py")), f"no tests in {tests}"
    readme = (ROOT / "README.md").read_text()
    assert f"`{driver}`" in readme, f"README.md has no section naming `{driver}`"
    if driver != "dummy":  # the dummy is its own simulator, in process
        simulator = SRC / "devices" / driver / "sim"
        assert (simulator / "server.py").exists()
        texts = [p.read_text() for p in tests.glob("test_*.py")]
        if _on_spacewire(simulator):
            # A SpaceWire device has no command lines to replay: expected_protocol is
            # for line protocols. Its tests drive the simulator process over the link.
            module = f"controlroom.devices.{driver}.sim.server"
            linked = any("SpaceWireOverZeroMQ" in t for t in texts)
            started = any(module in p.read_text() for p in tests.glob("*.py"))  # or a helper
            assert linked and started, (
                f"{driver} needs a test that runs {module} and drives it over SpaceWireOverZeroMQ"
            )
        else:
            replayed = any("expected_protocol" in t for t in texts)
            assert replayed, f"{driver} needs a replay test (controlroom.testing.expected_protocol)"


def _on_spacewire(simulator: Path) -> bool:
    """True if the simulator's process serves a SpaceWire link (not a line protocol)."""
    return any("controlroom.device.spacewire" in p.read_text() for p in simulator.glob("*.py"))
