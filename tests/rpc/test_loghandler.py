"""The ZeroMQ log handler: never blocks, stays bounded, delivers what it kept once it can."""

from __future__ import annotations

import logging
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import pytest
import zmq

from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy
from controlroom.rpc.loghandler import LogHandler, install_log_handler
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

MakeHandler = Callable[..., LogHandler]


@pytest.fixture
def endpoint() -> str:
    """An address nobody listens on yet: the log manager is down."""
    return f"tcp://127.0.0.1:{free_tcp_port()}"


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A logger of this test alone, outside the logger tree.

    Not registered with ``logging.getLogger``, so pytest's log capture (which
    keeps every record it sees) does not attach to it and distort the figures.
    """
    log = logging.Logger(f"test.loghandler.{request.node.name}", logging.DEBUG)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


@pytest.fixture
def make_handler(logger: logging.Logger, endpoint: str) -> MakeHandler:
    def make(**options: Any) -> LogHandler:
        options.setdefault("server", "bench")
        handler = LogHandler(options.pop("endpoint", endpoint), **options)
        logger.addHandler(handler)
        return handler

    return make


@pytest.fixture
def log_manager(endpoint: str) -> Iterator[Callable[[], zmq.Socket[bytes]]]:
    """Binds a PULL socket at ``endpoint`` when called: the log manager comes up."""
    sockets: list[zmq.Socket[bytes]] = []

    def bind() -> zmq.Socket[bytes]:
        pull = zmq.Context.instance().socket(zmq.PULL)
        pull.setsockopt(zmq.LINGER, 0)
        sockets.append(pull)
        # A socket closed just before releases its port asynchronously (ZeroMQ's I/O
        # thread): a restarted log manager binds as soon as the port is free again.
        assert wait_until(lambda: _try_bind(pull, endpoint), 5.0), f"{endpoint} stays taken"
        return pull

    yield bind
    for pull in sockets:
        pull.close(linger=0)


def _try_bind(socket: zmq.Socket[bytes], endpoint: str) -> bool:
    try:
        socket.bind(endpoint)
    except zmq.ZMQError as exc:
        if exc.errno != zmq.EADDRINUSE:
            raise
        return False
    return True


def receive(pull: zmq.Socket[bytes], count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """Up to ``count`` records, decoded as plain msgpack (no extension types allowed)."""
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(records) < count and (left := deadline - time.monotonic()) > 0:
        if pull.poll(int(left * 1000)):
            (frame,) = pull.recv_multipart()
            records.append(msgpack.unpackb(frame, ext_hook=_no_extensions))
    return records


def _no_extensions(code: int, data: bytes) -> Any:
    raise AssertionError(f"a log record must be plain data, found extension type {code}")


def _log_many(logger: logging.Logger, count: int, message: str = "record %d") -> None:
    for index in range(count):
        logger.info(message, index)


def test_logging_10000_records_never_waits_for_the_log_manager_that_is_down(
    logger: logging.Logger, make_handler: MakeHandler
) -> None:
    handler = make_handler(buffer=100)
    caller = threading.Thread(target=_log_many, args=(logger, 10_000), daemon=True)
    caller.start()
    # Nobody listens at the endpoint all along: a log call that waited for the log
    # manager, or for room in the buffer, would hold its caller for good. How long
    # the calls take is a figure of bench/log_handler.py.
    assert wait_until(lambda: not caller.is_alive(), 60.0), "a log call waited"
    assert handler.sent == 0
    assert handler.pending == 100
    assert handler.dropped == 9_900


def test_memory_stays_bounded_while_the_log_manager_is_down(
    logger: logging.Logger, make_handler: MakeHandler
) -> None:
    handler = make_handler(buffer=200)
    message = "x" * 1000 + " %d"
    tracemalloc.start()
    try:
        _log_many(logger, 1_000, message)  # the buffer is full from here on
        before, _ = tracemalloc.get_traced_memory()
        _log_many(logger, 10_000, message)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Kept unbounded, 10,000 more records of 1 kB would take over 10 MB.
    assert after - before < 256 * 1024, f"grew by {after - before} bytes"
    assert handler.pending == 200


def test_the_newest_records_are_delivered_when_the_log_manager_comes_back(
    logger: logging.Logger, make_handler: MakeHandler, log_manager: Callable[[], Any]
) -> None:
    handler = make_handler(buffer=20)
    for index in range(50):
        logger.warning("record %d", index)
    assert handler.dropped == 30
    pull = log_manager()
    notice, *kept = receive(pull, 21)
    assert notice["level"] == "WARNING"
    assert notice["message"].startswith("30 log records dropped")
    assert [record["message"] for record in kept] == [f"record {i}" for i in range(30, 50)]
    assert wait_until(lambda: handler.sent == 20)
    assert handler.pending == 0


def test_a_record_is_plain_data_with_the_exception_text_and_obsid(
    logger: logging.Logger, make_handler: MakeHandler, log_manager: Callable[[], Any]
) -> None:
    make_handler(server="tempctl", process="cs-tempctl", obsid=lambda: "LAB_00042")
    pull = log_manager()
    try:
        raise ZeroDivisionError("no heater power")
    except ZeroDivisionError:
        logger.exception("ramp failed at %.1f K", 77.3)
    (record,) = receive(pull, 1)
    assert record["message"] == "ramp failed at 77.3 K"
    assert record["level"] == "ERROR"
    assert record["levelno"] == logging.ERROR
    assert record["logger"] == logger.name
    assert (record["server"], record["process"], record["obsid"]) == (
        "tempctl",
        "cs-tempctl",
        "LAB_00042",
    )
    assert isinstance(record["pid"], int)
    assert isinstance(record["host"], str)
    assert abs(record["time"] - time.time()) < 60
    assert "ZeroDivisionError: no heater power" in record["exception"]
    assert "Traceback" in record["exception"]


def test_arguments_are_formatted_in_the_caller_and_a_failing_obsid_provider_is_ignored(
    logger: logging.Logger, make_handler: MakeHandler, log_manager: Callable[[], Any]
) -> None:
    def broken() -> str:
        raise RuntimeError("confman away")

    make_handler(obsid=broken)
    pull = log_manager()
    values = [1, 2]
    logger.info("values %s, an object %s", values, object())
    values.append(3)  # changed after the call: the record keeps what was logged
    (record,) = receive(pull, 1)
    assert record["message"].startswith("values [1, 2], an object <object object at")
    assert record["obsid"] is None


def test_records_reach_a_log_manager_that_was_restarted(
    logger: logging.Logger, make_handler: MakeHandler, log_manager: Callable[[], Any]
) -> None:
    make_handler()
    first = log_manager()
    logger.info("before")
    assert [r["message"] for r in receive(first, 1)] == ["before"]
    first.close(linger=0)
    second = log_manager()
    # A record handed to ZeroMQ just as the first one went away may be lost: log until one lands.
    assert wait_until(lambda: logger.info("after") or receive(second, 1, 0.05), 10.0)


def test_close_ends_the_sender_while_the_log_manager_is_down(
    logger: logging.Logger, make_handler: MakeHandler
) -> None:
    handler = make_handler()
    _log_many(logger, 100)
    handler.close()
    # The sender gave up on what it could not deliver instead of waiting for the
    # log manager: close joins it for a moment only, so a sender still waiting shows.
    assert not handler._thread.is_alive()
    assert (handler.sent, handler.pending) == (0, 100)


def test_drain_waits_until_everything_was_handed_over(
    logger: logging.Logger, make_handler: MakeHandler, log_manager: Callable[[], Any]
) -> None:
    handler = make_handler(buffer=5000)
    _log_many(logger, 3000)
    assert not handler.drain(0.2)  # nobody listens yet
    pull = log_manager()
    assert handler.drain(10.0)
    assert len(receive(pull, 3000)) == 3000
    assert handler.dropped == 0


def test_install_replaces_an_earlier_handler_and_lowers_the_logger_level(
    logger: logging.Logger, endpoint: str
) -> None:
    logger.setLevel(logging.WARNING)
    first = install_log_handler(endpoint, server="a", level="INFO", logger=logger)
    assert logger.level == logging.INFO
    second = install_log_handler(endpoint, server="b", level=logging.DEBUG, logger=logger)
    assert [h for h in logger.handlers if isinstance(h, LogHandler)] == [second]
    assert not first._thread.is_alive()
    assert logger.level == logging.DEBUG


def test_a_buffer_must_hold_a_record(endpoint: str) -> None:
    with pytest.raises(ValueError, match="at least one record"):
        LogHandler(endpoint, server="x", buffer=0)


def test_a_crashed_sender_is_restarted_and_listed_by_every_server_of_the_process(
    make_handler: MakeHandler,
    logger: logging.Logger,
    log_manager: Callable[[], zmq.Socket[bytes]],
    serve: Callable[..., ControlServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = make_handler()
    send_batch = handler._send_batch
    crashed = threading.Event()

    def crash_once(push: zmq.Socket[bytes]) -> None:
        if not crashed.is_set():
            crashed.set()
            raise RuntimeError("injected sender fault")
        send_batch(push)

    monkeypatch.setattr(handler, "_send_batch", crash_once)
    pull = log_manager()
    logger.info("sent across a crash of the sender")
    [record] = receive(pull, 1)
    assert crashed.is_set()
    assert record["message"] == "sent across a crash of the sender"
    server = serve(DummySensor(), "dummy")
    with Proxy(server.endpoint) as proxy:
        sender = proxy.process_status()["background_threads"][handler._thread.role]
        assert sender["restarts"] == 1 and sender["alive"] is True
        assert "injected sender fault" in sender["last_error"]
    handler.close()
    assert handler._thread.role not in server.thread_states()  # closed: no longer listed
