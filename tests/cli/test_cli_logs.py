"""``controlroom logs``: start the log manager, send it records, tail and follow them."""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgpack
import pytest
import yaml
import zmq
from typer.testing import Result

from controlroom.cli.errors import CliError
from controlroom.cli.logs import parse_since
from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc.loghandler import LogHandler
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

Cli = Callable[..., Result]
Controlroom = Callable[..., subprocess.CompletedProcess[str]]
Detached = Callable[[str, str], ProcessRecord]
ANY_PORT = "tcp://127.0.0.1:0"


@pytest.fixture
def local_settings(tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Overrides the CLI suite's settings: the log manager on port 0, files in tmp_path."""
    logman = {"commands": ANY_PORT, "publish": ANY_PORT, "records": ANY_PORT}
    settings = {
        "services": {"logman": {**logman, "directory": str(tmp_path / "logs")}},
        "locations": {"state": str(state_dir), "data": str(tmp_path / "data")},
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
    return path


@pytest.fixture
def logman(controlroom: Controlroom, detached: Detached) -> Iterator[ProcessRecord]:
    """The log manager, started detached as an operator would, stopped at the end."""
    started = controlroom("logs", "start")
    assert started.returncode == 0, started.stderr
    assert "log manager started" in started.stdout
    record = detached("cs", "logman")
    assert not record.endpoints["records"].endswith(":0")  # the actual port
    yield record
    stopped = controlroom("logs", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "log manager stopped" in stopped.stdout


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A logger outside the logger tree (pytest's capture does not attach to it)."""
    log = logging.Logger(f"test.cli.logs.{request.node.name}", logging.DEBUG)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.stderr or result.stdout
    return result.stdout


def _json_tail(cli: Cli, *args: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in _ok(cli("logs", "tail", "--json", *args)).splitlines()]


def _send_old_record(endpoint: str, seconds_ago: float) -> None:
    push = zmq.Context.instance().socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 5000)
    push.connect(endpoint)
    old = {"time": time.time() - seconds_ago, "level": "ERROR", "levelno": 40}
    push.send(msgpack.packb({**old, "server": "tempctl", "message": "two hours ago"}))
    push.close()


def test_tail_shows_records_filtered_by_level_server_and_age(
    cli: Cli, logman: ProcessRecord, logger: logging.Logger
) -> None:
    records = logman.endpoints["records"]
    _send_old_record(records, 7200)
    for sent, (server, level, message) in enumerate(
        [
            ("tempctl", logging.INFO, "ramp started"),
            ("dummy", logging.DEBUG, "polled"),
            ("tempctl", logging.WARNING, "heater near limit"),
        ],
        start=2,
    ):
        handler = LogHandler(records, server=server, level=logging.DEBUG)
        logger.addHandler(handler)
        logger.log(level, message)
        assert handler.drain(5.0)
        logger.removeHandler(handler)
        handler.close()
        # Each handler has its own connection: wait until the record is written so
        # the next one, on a new connection, cannot overtake it.
        assert wait_until(lambda n=sent: len(_json_tail(cli)) == n, 10.0)

    shown = _ok(cli("logs", "tail", "-n", "2")).splitlines()
    assert [line.split(": ", 1)[1] for line in shown] == ["polled", "heater near limit"]
    assert " WARNING  tempctl " in shown[1]

    def messages(*args: str) -> list[object]:
        return [record["message"] for record in _json_tail(cli, *args)]

    assert messages("--level", "warning") == ["two hours ago", "heater near limit"]
    assert messages("--server", "temp*", "--since", "1h") == ["ramp started", "heater near limit"]
    assert messages("--since", "3h", "-n", "1") == ["heater near limit"]


def test_tail_shows_the_exception_text(
    cli: Cli, logman: ProcessRecord, logger: logging.Logger
) -> None:
    logger.addHandler(LogHandler(logman.endpoints["records"], server="dummy"))
    try:
        raise TimeoutError("no reply from 192.168.1.50")
    except TimeoutError:
        logger.exception("poll failed")
    assert wait_until(lambda: "poll failed" in _ok(cli("logs", "tail")), 10.0)
    shown = _ok(cli("logs", "tail"))
    assert "Traceback (most recent call last)" in shown
    assert "TimeoutError: no reply from 192.168.1.50" in shown


def test_tail_f_follows_new_records_until_stopped(
    logman: ProcessRecord, logger: logging.Logger, local_settings: Path
) -> None:
    logger.addHandler(LogHandler(logman.endpoints["records"], server="follow-me"))
    argv = [sys.executable, "-m", "controlroom.cli.main", "logs", "tail", "-f", "-n", "0"]
    follower = subprocess.Popen(
        [*argv, "--server", "follow-*"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()
    pump = threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout or ()])
    pump.start()
    try:
        # The follower subscribes once it has started: log until a record reaches it.
        def followed() -> bool:
            logger.info("news for followers")
            try:
                return "news for followers" in lines.get(timeout=0.1)
            except queue.Empty:
                return False

        assert wait_until(followed, 30.0)
    finally:
        follower.terminate()
        code = follower.wait(10.0)
        pump.join(10.0)
    assert code == 0, follower.stderr.read() if follower.stderr else ""


def test_start_twice_is_refused_and_stop_twice_is_harmless(
    controlroom: Controlroom, logman: ProcessRecord
) -> None:
    again = controlroom("logs", "start")
    assert again.returncode == 1
    assert "already running" in again.stderr
    assert controlroom("logs", "stop").returncode == 0
    second = controlroom("logs", "stop")
    assert second.returncode == 0
    assert "not running" in second.stdout
    missing = controlroom("logs", "tail")
    assert missing.returncode == 1
    assert "the log manager is not running" in missing.stderr
    restarted = controlroom("logs", "start")  # for the fixture, which stops it
    assert restarted.returncode == 0, restarted.stderr


def test_a_bad_since_or_level_is_one_clear_line(cli: Cli, logman: ProcessRecord) -> None:
    bad_since = cli("logs", "tail", "--since", "yesterday")
    assert bad_since.exit_code == 1
    assert "--since 'yesterday': give an age" in bad_since.stderr
    bad_level = cli("logs", "tail", "--level", "LOUD")
    assert bad_level.exit_code == 1
    assert "unknown level 'LOUD'" in bad_level.stderr


def test_since_takes_ages_and_iso_times() -> None:
    now = 1_000_000.0
    assert parse_since(None) is None
    assert parse_since("90s", now) == now - 90
    assert parse_since("1.5h", now) == now - 5400
    assert parse_since("2d", now) == now - 172_800
    noon = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC).timestamp()
    assert parse_since("2024-05-01T12:00", now) == noon  # naive: UTC
    assert parse_since("2024-05-01T14:00+02:00", now) == noon
    with pytest.raises(CliError, match="give an age"):
        parse_since("5 minutes", now)
