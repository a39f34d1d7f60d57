"""TaskRunner: runs on worker threads, output streamed per run, device locks, observations."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from controlroom.obs import building_block, current_observation, observation
from controlroom.obs.task import TaskSpec, task, task_spec
from controlroom.obs.taskargs import TaskArgumentError
from controlroom.rpc import ControlServer, FunctionTable, Proxy
from controlroom.rpc.hooks import CommandRecord
from controlroom.web.taskrunner import DeviceBusy, TaskRun, TaskRunner, UnknownTask

WAIT_S = 10.0
gates: dict[str, threading.Event] = {}


@task(display_name="Count")
def count(upto: int = 3) -> int:
    """Print numbers and log one line."""
    for number in range(1, upto + 1):
        print(f"line {number}")
    logging.getLogger("lab.count").warning("counted to %d", upto)
    print("no newline at the end", end="")
    return upto


@task
def explode(message: str = "boom") -> None:
    raise RuntimeError(message)


@task(devices=("tempctl",))
def hold_tempctl(gate: str = "tempctl") -> str:
    print("holding tempctl")
    assert gates[gate].wait(WAIT_S)
    return "released"


@task(devices=("tempctl", "dummy"))
def use_both() -> str:
    return "both"


@task(devices=("dummy",))
def use_dummy() -> str:
    return "dummy"


@task(devices=("dummy",))
@building_block
def calibrate(*, offset: float) -> dict[str, Any]:
    """A building block: it runs only inside an observation."""
    running = current_observation()
    assert running is not None
    print(f"calibrating in {running.obsid}")
    return {"offset": offset, "obsid": running.obsid}


@task
@building_block
def other_block(*, gate: str) -> None:
    assert gates[gate].wait(WAIT_S)


@task
def chatter(tag: str, lines: int = 200) -> None:
    gates["ready"].wait(WAIT_S)  # both runs print at the same time
    for number in range(lines):
        print(f"{tag} {number}")


@task
def set_bench(endpoint: str, value: float = 1.0) -> float:
    """Command a server the way a lab's task does: through a proxy of its own."""
    with Proxy(endpoint, timeout=WAIT_S) as bench:
        return float(bench.call("set_offset", value))


def specs(*functions: Callable[..., Any]) -> list[TaskSpec]:
    found = [task_spec(f) for f in functions]
    assert all(found)
    return [s for s in found if s is not None]


def texts(run: TaskRun, stream: str | None = None) -> list[str]:
    lines = run.output.read().lines
    return [line.text for line in lines if stream is None or line.stream == stream]


def finished(run: TaskRun) -> TaskRun:
    assert run.wait(WAIT_S), f"run {run.id} did not end"
    return run


@pytest.fixture
def gate() -> Iterator[Callable[[str], threading.Event]]:
    def make(name: str) -> threading.Event:
        gates[name] = threading.Event()
        return gates[name]

    yield make
    for event in gates.values():  # never leave a worker thread waiting
        event.set()
    gates.clear()


def test_output_is_streamed_in_order_and_the_result_kept() -> None:
    runner = TaskRunner(specs(count))
    run = finished(runner.submit(f"{__name__}.count", {"upto": "4"}, user="alice"))
    assert run.state == "done"
    assert run.result == 4
    assert texts(run, "stdout") == [f"line {n}" for n in range(1, 5)] + ["no newline at the end"]
    assert texts(run, "log") == ["WARNING lab.count: counted to 4"]
    all_lines = run.output.read().lines
    assert [line.seq for line in all_lines] == list(range(1, len(all_lines) + 1))
    assert all_lines[0].stream == "runner"
    assert "Count started" in all_lines[0].text
    assert "Count done after" in all_lines[-1].text
    chunk = run.output.read(after=3)
    assert chunk.lines[0].seq == 4
    assert chunk.closed
    described = run.as_dict()
    assert described["state"] == "done"
    assert described["result"] == 4
    assert described["arguments"] == {"upto": 4}
    assert described["user"] == "alice"
    assert described["duration_s"] >= 0
    assert runner.runs() == [run]
    assert runner.run(run.id) is run
    assert runner.groups() == {"Tasks": [task_spec(count).describe()]}  # type: ignore[union-attr]


def test_a_failure_keeps_type_message_and_traceback() -> None:
    runner = TaskRunner(specs(explode))
    run = finished(runner.submit(f"{__name__}.explode", {"message": "the lamp is out"}))
    assert run.state == "failed"
    assert run.error is not None
    assert run.error["type"] == "RuntimeError"
    assert run.error["message"] == "the lamp is out"
    assert "in explode" in run.error["traceback"]
    stderr = "\n".join(texts(run, "stderr"))
    assert "RuntimeError: the lamp is out" in stderr
    assert "explode failed after" in texts(run)[-1]


def test_bad_requests_are_refused_before_anything_runs() -> None:
    runner = TaskRunner(specs(count))
    with pytest.raises(UnknownTask, match="no task 'nope'"):
        runner.submit("nope")
    with pytest.raises(TaskArgumentError, match="'upto'"):
        runner.submit(f"{__name__}.count", {"upto": "many"})
    assert runner.runs() == []
    with pytest.raises(UnknownTask):
        runner.run(99)


def test_a_device_in_use_refuses_a_second_run_until_the_first_ends(
    gate: Callable[[str], threading.Event],
) -> None:
    release = gate("tempctl")
    runner = TaskRunner(specs(hold_tempctl, use_both, use_dummy))
    first = runner.submit(f"{__name__}.hold_tempctl")
    with pytest.raises(DeviceBusy) as caught:
        runner.submit(f"{__name__}.use_both")
    assert "device 'tempctl' is in use by run 1 (hold_tempctl" in str(caught.value)
    with pytest.raises(DeviceBusy):
        runner.submit(f"{__name__}.hold_tempctl")
    assert runner.busy_devices() == {"tempctl": 1}
    # Another device is free meanwhile.
    assert finished(runner.submit(f"{__name__}.use_dummy")).result == "dummy"
    release.set()
    assert finished(first).result == "released"
    assert runner.busy_devices() == {}
    assert finished(runner.submit(f"{__name__}.use_both")).result == "both"


@pytest.fixture
def confman() -> Iterator[tuple[str, list[tuple[str, ...]]]]:
    """A stand-in configuration manager handing out obsids."""
    calls: list[tuple[str, ...]] = []

    def start(description: str) -> str:
        calls.append(("start", description))
        return f"LAB_{len(calls):05d}"

    def end() -> None:
        calls.append(("end",))

    server = ControlServer(
        "confman", FunctionTable({"start_observation": start, "end_observation": end})
    )
    server.start()
    try:
        yield server.endpoint, calls
    finally:
        server.stop()


def test_a_building_block_runs_inside_an_observation(
    confman: tuple[str, list[tuple[str, ...]]], gate: Callable[[str], threading.Event]
) -> None:
    endpoint, calls = confman
    runner = TaskRunner(
        specs(calibrate, other_block), observations=functools.partial(observation, confman=endpoint)
    )
    run = finished(runner.submit(f"{__name__}.calibrate", {"offset": "0.25"}))
    assert run.state == "done", run.error
    assert run.result == {"offset": 0.25, "obsid": "LAB_00001"}
    assert run.obsid == "LAB_00001"
    assert "calibrating in LAB_00001" in texts(run, "stdout")
    assert calls == [("start", f"{__name__}.calibrate"), ("end",)]
    assert current_observation() is None  # the observation belonged to the worker thread

    # The configuration manager runs one observation at a time: so does the runner.
    release = gate("block")
    holding = runner.submit(f"{__name__}.other_block", {"gate": "block"})
    with pytest.raises(DeviceBusy, match="an observation is in use by run 2"):
        runner.submit(f"{__name__}.calibrate", {"offset": 1.0})
    release.set()
    assert finished(holding).state == "done"


def test_a_building_block_without_a_configuration_manager_fails_clearly() -> None:
    with Proxy(NOBODY, name="confman", timeout=0.2) as nobody:
        runner = TaskRunner(specs(calibrate), observations=lambda d: observation(d, confman=nobody))
        run = finished(runner.submit(f"{__name__}.calibrate", {"offset": 1.0}))
    assert run.state == "failed"
    assert run.error is not None
    assert run.error["type"] == "ObservationError"
    assert runner.busy_devices() == {}


NOBODY = "tcp://127.0.0.1:1"


def test_concurrent_runs_keep_their_own_output(
    gate: Callable[[str], threading.Event], capsys: pytest.CaptureFixture[str]
) -> None:
    ready = gate("ready")
    runner = TaskRunner(specs(chatter))
    one = runner.submit(f"{__name__}.chatter", {"tag": "one"})
    two = runner.submit(f"{__name__}.chatter", {"tag": "two"})
    print("the main thread keeps its own output")
    ready.set()
    for run, tag in ((finished(one), "one"), (finished(two), "two")):
        assert texts(run, "stdout") == [f"{tag} {n}" for n in range(200)]
    assert "the main thread keeps its own output" in capsys.readouterr().out


def test_a_follower_gets_lines_as_they_come_then_the_end(
    gate: Callable[[str], threading.Event],
) -> None:
    release = gate("tempctl")
    runner = TaskRunner(specs(hold_tempctl))
    run = runner.submit(f"{__name__}.hold_tempctl")

    async def follow() -> list[str]:
        seen = []
        async for line in run.output.follow():
            seen.append(line.text)
            if line.text == "holding tempctl":
                release.set()  # the task goes on only once the follower saw its line
        return seen

    seen = asyncio.run(asyncio.wait_for(follow(), WAIT_S))
    assert seen[1] == "holding tempctl"
    assert seen[2].startswith("----- hold_tempctl done after ")
    assert len(seen) == 3
    assert finished(run).state == "done"


def test_listeners_hear_of_starts_and_ends_and_history_is_bounded() -> None:
    runner = TaskRunner(specs(count), history=2)
    heard: list[tuple[int, str]] = []
    runner.on_change(lambda run: heard.append((run.id, run.state)))
    for _ in range(3):
        finished(runner.submit(f"{__name__}.count", {"upto": 1}))
    assert heard == [(1, "running"), (1, "done"), (2, "running"), (2, "done"), (3, "running"),
                     (3, "done")]  # fmt: skip
    assert [run.id for run in runner.runs()] == [3, 2]


def test_a_demo_task_runs_against_a_real_dummy_server() -> None:
    from controlroom.device.serving import DeviceService
    from controlroom.devices.dummy import DummySensor
    from controlroom.obs.task import discover_tasks
    from controlroom.obs.taskservers import use_servers

    class Directory:
        def names(self) -> list[str]:
            return ["dummy"]

        def proxy(self, name: str, *, timeout: float | None = None) -> Proxy:
            return Proxy(server.endpoint, name=name, timeout=timeout or 5.0)

    server = ControlServer("dummy", DeviceService(DummySensor()))
    server.start()
    use_servers(Directory())
    try:
        demo = "controlroom.obs.demo_tasks"
        runner = TaskRunner(discover_tasks([demo], [demo]))
        assert list(runner.groups()) == ["Thermal", "Checks"]
        run = finished(runner.submit(f"{demo}.read_dummy", {"samples": "2", "statistic": "max"}))
    finally:
        use_servers(None)
        server.stop()
    assert run.state == "done", run.error
    assert isinstance(run.result, float)
    assert texts(run, "stdout")[:2] == [line for line in texts(run, "stdout") if "reading" in line]


@pytest.fixture
def bench() -> Iterator[ControlServer]:
    """A server with one command, its journal (command observers) as ``bench.journal``."""
    table = FunctionTable({"set_offset": lambda value: value})
    server = ControlServer("bench", table, endpoint="tcp://127.0.0.1:0")
    journal: list[CommandRecord] = []
    server.hooks.command_observers.append(journal.append)
    server.journal = journal  # type: ignore[attr-defined]
    server.start()
    yield server
    server.stop()


def test_a_run_calls_the_servers_for_its_user_with_their_role(bench: ControlServer) -> None:
    runner = TaskRunner(specs(set_bench))
    name, where = f"{__name__}.set_bench", {"endpoint": bench.endpoint}
    done = finished(runner.submit(name, {**where, "value": 2.5}, user="otto", role="operator"))
    refused = finished(runner.submit(name, {**where, "value": 3.5}, user="vera", role="viewer"))
    own = finished(runner.submit(name, {**where, "value": 4.5}))  # nobody's: the panel's own
    assert (done.state, done.result, own.state) == ("done", 2.5, "done")
    assert refused.state == "failed" and refused.error is not None
    assert "vera via web (key anonymous) (viewer)" in refused.error["message"]
    assert "needs the operator role" in refused.error["message"]
    journal: list[CommandRecord] = bench.journal  # type: ignore[attr-defined]
    assert [(r.caller, r.ok) for r in journal] == [
        ("otto via web (key anonymous)", True),
        ("vera via web (key anonymous)", False),
        ("anonymous", True),
    ]
