"""The log manager as a control server: records in, files written, tail and follow out."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from controlroom.config.settings import load_settings
from controlroom.device.proxy import make_proxy
from controlroom.rpc import RemoteError
from controlroom.rpc.loghandler import LogHandler
from controlroom.services.logs.follow import LogFollower
from controlroom.services.logs.server import LogManager, build_manager, build_server
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.processes import ServerProcess
from controlroom.testing.waiting import wait_until

ANY_PORT = "tcp://127.0.0.1:0"


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A logger outside the logger tree (pytest's capture does not attach to it)."""
    log = logging.Logger(f"test.logman.{request.node.name}", logging.DEBUG)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


@pytest.fixture
def logman(tmp_path: Path) -> Iterator[tuple[LogManager, Any, str]]:
    """A log manager in this process: (manager, proxy, publish endpoint)."""
    settings = load_settings()
    manager = build_manager(settings, records_endpoint=ANY_PORT, directory=tmp_path / "logs")
    server = build_server(settings, manager, endpoint=ANY_PORT, pub_endpoint=ANY_PORT)
    server.start()
    proxy: Any = make_proxy(LogManager, server.endpoint, timeout=10.0)
    try:
        yield manager, proxy, server.pub_endpoint
    finally:
        proxy.close()
        server.stop()


def attach(logger: logging.Logger, endpoint: str, **options: Any) -> LogHandler:
    handler = LogHandler(endpoint, **{"server": "tempctl", **options})
    logger.addHandler(handler)
    return handler


def test_records_from_a_process_are_written_and_tailed(
    logman: tuple[LogManager, Any, str], logger: logging.Logger
) -> None:
    manager, proxy, _ = logman
    attach(logger, manager.records_endpoint, obsid=lambda: "LAB_00007")
    logger.info("ramp to %d K", 120)
    try:
        raise RuntimeError("sensor A open")
    except RuntimeError:
        logger.exception("poll failed")
    assert wait_until(lambda: len(proxy.tail(10)) == 2, 10.0)
    info, error = proxy.tail(10)
    assert (info["message"], info["level"], info["obsid"]) == ("ramp to 120 K", "INFO", "LAB_00007")
    assert error["level"] == "ERROR"
    assert "RuntimeError: sensor A open" in error["exception"]
    assert error["pid"] == os.getpid()
    assert error["time"].endswith("Z")
    assert proxy.tail(10, level="ERROR") == [error]
    lines = Path(proxy.stats()["file"]).read_text().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["ramp to 120 K", "poll failed"]


def test_followers_get_new_records_as_they_are_written(
    logman: tuple[LogManager, Any, str], logger: logging.Logger
) -> None:
    manager, _, publish = logman
    attach(logger, manager.records_endpoint, server="dummy")
    with LogFollower(publish, level="WARNING", server="dum*") as follower:
        # A subscription takes a moment to reach the publisher: log until one arrives.
        got: list[dict[str, Any]] = []

        def delivered() -> bool:
            logger.debug("not for this follower")
            logger.warning("for the follower")
            record = follower.next(0.05)
            return record is not None and not got.append(record)

        assert wait_until(delivered, 10.0)
    assert got[0]["message"] == "for the follower"
    assert got[0]["server"] == "dummy"


def test_malformed_input_is_counted_and_the_manager_keeps_serving(
    logman: tuple[LogManager, Any, str], logger: logging.Logger
) -> None:
    manager, proxy, _ = logman
    garbage: list[list[bytes]] = [[os.urandom(size)] for size in (0, 1, 7, 64, 1000)] + [
        [b"\xc1"],  # never valid msgpack
        [msgpack.packb([1, 2, 3])],
        [msgpack.packb({"message": 5})],
        [msgpack.packb({"message": "two frames"}), b"extra"],
        [msgpack.packb({1: "integer key"})],
        [b"\x92" + b"\x91" * 100_000],  # arrays nested deeper than any decoder goes
    ]
    _push(manager.records_endpoint, [[b"\x00" * (2 * 1024 * 1024)]])  # ZeroMQ drops it
    _push(manager.records_endpoint, [*garbage, [msgpack.packb({"message": "raw but valid"})]])
    assert wait_until(lambda: proxy.stats()["malformed"] == len(garbage), 10.0)
    attach(logger, manager.records_endpoint)
    logger.warning("still serving")
    assert wait_until(lambda: len(proxy.tail(10)) == 2, 10.0)
    assert [r["message"] for r in proxy.tail(10)] == ["raw but valid", "still serving"]
    assert proxy.stats()["received"] == 2
    assert proxy.ping() == "pong"


def _push(endpoint: str, messages: list[list[bytes]]) -> None:
    push = zmq.Context.instance().socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 5000)  # close() delivers what was sent
    push.connect(endpoint)
    try:
        for frames in messages:
            push.send_multipart(frames)
    finally:
        push.close()


def test_a_bad_query_comes_back_as_a_remote_error(logman: tuple[LogManager, Any, str]) -> None:
    _, proxy, _ = logman
    with pytest.raises(RemoteError, match="unknown level"):
        proxy.tail(5, level="LOUD")
    assert proxy.tail(5) == []


def test_buffered_records_are_flushed_when_the_log_manager_starts_late(
    tmp_path: Path, logger: logging.Logger
) -> None:
    records = f"tcp://127.0.0.1:{free_tcp_port()}"
    handler = attach(logger, records, buffer=500)
    for index in range(10_000):
        logger.info("record %05d", index)
    assert handler.dropped == 9_500
    argv = [sys.executable, "-m", "controlroom.processes.service", "logman"]
    options = ["--endpoint", ANY_PORT, "--pub-endpoint", ANY_PORT, "--records-endpoint", records]
    with ServerProcess([*argv, *options, "--directory", str(tmp_path)]) as child:
        assert child.endpoints["records"] == records
        proxy: Any = make_proxy(LogManager, child.endpoint, timeout=10.0)
        try:
            assert wait_until(lambda: proxy.stats()["written"] == 501, 20.0)
            kept = proxy.tail(1000)
        finally:
            proxy.close()
    *rest, notice = kept  # sent (so timed) when the log manager came back: the newest
    assert notice["message"].startswith("9500 log records dropped")
    assert [r["message"] for r in rest] == [f"record {i:05d}" for i in range(9_500, 10_000)]


def test_the_packaged_settings_name_the_records_endpoint_and_buffer() -> None:
    entry = load_settings()["services"]["logman"]
    assert entry["records"].startswith("tcp://")
    assert entry["buffer_records"] >= 1
    assert entry["retention_days"] >= 1
