"""The process factory: children forked from a preloaded parent behave like spawned ones."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from controlroom.rpc.child import Child
from controlroom.rpc.factory import FactoryError, ForkedProcess, ProcessFactory
from controlroom.testing.waiting import wait_until

PROBES = Path(__file__).with_name("probes")
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROBES), *sys.path])}
PROBE = [sys.executable, "-m", "factory_probe"]


def ready(line: str) -> dict[str, Any] | None:
    return json.loads(line[len("READY ") :]) if line.startswith("READY ") else None


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[ProcessFactory]:
    made = ProcessFactory(
        sys.executable,
        ["factory_marker"],
        env=ENV,
        log_path=tmp_path / "factory.log",
        allow=["factory_probe", "factory_marker"],
    )
    yield made
    made.close()


def spawn(factory: ProcessFactory, tmp_path: Path, *args: str) -> Child:
    return Child.spawn(
        "probe", [*PROBE, *args], log_path=tmp_path / "probe.log", env=ENV, factory=factory
    )


def test_a_forked_child_starts_as_python_m_would(factory: ProcessFactory, tmp_path: Path) -> None:
    child = spawn(factory, tmp_path, "one", "two words")
    try:
        assert isinstance(child.process, ForkedProcess)
        facts = child.wait_ready(ready, 30)
        assert facts["pid"] == child.pid
        assert facts["ppid"] == factory.pid  # forked by the factory, not started by us
        assert facts["marker_pid"] == factory.pid  # preloaded there, not imported again
        assert facts["pgid"] == child.pid  # a process group of its own, as spawned ones
        assert facts["name"] == "__main__"
        assert facts["args"] == ["one", "two words"]
        assert facts["argv0"].endswith("factory_probe.py")
        assert facts["frozen"] > 0 and facts["gc_enabled"]
        assert facts["stdin"] == "" and facts["sigterm_default"]
        shown = " ".join(psutil.Process(child.pid).cmdline())
        assert "factory_probe one two words" in shown
        assert "controlroom.rpc.factory" not in shown  # ps shows what it stands for
    finally:
        code = child.stop()
    assert code == -signal.SIGTERM
    assert "probe: to stderr" in (tmp_path / "probe.log").read_text()


def test_exit_codes_come_from_the_factory(factory: ProcessFactory, tmp_path: Path) -> None:
    child = spawn(factory, tmp_path, "--exit", "3")
    assert child.wait_ready(ready, 30)["ppid"] == factory.pid
    assert child.drain() == 3
    assert child.process.poll() == 3


def test_the_factory_closes_nothing_of_the_child_at_its_exit(
    factory: ProcessFactory, tmp_path: Path
) -> None:
    # The factory's own socket is closed in the child through its object: closed behind
    # the object's back, its number was closed again at exit, by then the child's (a
    # ZeroMQ context aborted on it).
    child = spawn(factory, tmp_path, "--exit", "0", "--sockets")
    assert child.wait_ready(ready, 30)["open_sockets"] == []
    assert child.drain() == 0


def test_what_the_factory_may_not_run_is_spawned(factory: ProcessFactory, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "json.tool", "--help"]
    child = Child.spawn("json", argv, log_path=tmp_path / "json.log", env=ENV, factory=factory)
    assert isinstance(child.process, subprocess.Popen)
    assert child.drain() == 0
    # Asked anyway, the factory itself refuses, and goes on serving.
    with open(os.devnull, "wb") as sink, pytest.raises(FactoryError, match="may run"):
        factory.spawn(argv, sink.fileno())
    other = spawn(factory, tmp_path, "--exit", "0")
    assert isinstance(other.process, ForkedProcess) and other.drain() == 0


def test_a_different_environment_is_spawned(factory: ProcessFactory, tmp_path: Path) -> None:
    env = {**ENV, "CONTROLROOM_PROBE": "other"}
    child = Child.spawn("probe", [*PROBE, "--exit", "0"], log_path=tmp_path / "p.log", env=env)
    assert isinstance(child.process, subprocess.Popen)
    assert not factory.accepts(PROBE, env) and factory.accepts(PROBE, ENV)
    assert child.drain() == 0


def test_children_outlive_a_killed_factory(factory: ProcessFactory, tmp_path: Path) -> None:
    child = spawn(factory, tmp_path)
    child.wait_ready(ready, 30)
    first = factory.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: factory.pid is None, 10)
    assert psutil.pid_exists(child.pid)
    with pytest.raises(subprocess.TimeoutExpired):
        child.process.wait(0.2)  # still running, now watched by PID
    assert child.stop() is None  # stopped all the same; its exit code is unknown now
    assert not psutil.pid_exists(child.pid) or psutil.Process(child.pid).status() == "zombie"
    again = spawn(factory, tmp_path, "--exit", "0")  # a new factory serves the next one
    assert isinstance(again.process, ForkedProcess)
    assert again.wait_ready(ready, 30)["ppid"] not in (first, None)
    assert again.drain() == 0


def test_a_preload_that_starts_threads_means_spawning(tmp_path: Path) -> None:
    unsafe = ProcessFactory(sys.executable, ["factory_threads"], env=ENV, allow=["factory_probe"])
    try:
        child = spawn(unsafe, tmp_path, "--exit", "0")
        assert isinstance(child.process, subprocess.Popen)
        assert child.drain() == 0
        assert "threads" in unsafe.broken and not unsafe.accepts(PROBE, ENV)
    finally:
        unsafe.close()


def test_modules_for_later_are_preloaded_while_idle(tmp_path: Path) -> None:
    lazy = ProcessFactory(
        sys.executable, [], later=["factory_marker"], env=ENV, allow=["factory_probe"]
    )

    def marker_from_factory() -> bool:
        child = spawn(lazy, tmp_path, "--exit", "0")
        facts = child.wait_ready(ready, 30)
        child.drain()
        return bool(facts["marker_pid"] == lazy.pid)

    try:
        assert wait_until(marker_from_factory, 30)
    finally:
        lazy.close()


def test_close_stops_the_factory_and_leaves_no_child(factory: ProcessFactory) -> None:
    with open(os.devnull, "wb") as sink:
        assert factory.spawn([*PROBE, "--exit", "0"], sink.fileno()).wait(30) == 0
    pid = factory.pid
    assert pid is not None
    factory.close()
    assert factory.pid is None and not psutil.pid_exists(pid)
    assert not factory.accepts(PROBE, ENV)
