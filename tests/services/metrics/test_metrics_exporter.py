"""The exporter scraped over HTTP: housekeeping, commands, server and process metrics."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
import zmq
from metrics_helpers import scrape, value

import controlroom
from controlroom.device.proxy import DeviceProxy
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, RemoteError
from controlroom.services.metrics import (
    MetricsAddressError,
    MetricsError,
    MetricsExporter,
    attach_metrics,
)
from controlroom.testing.waiting import wait_until

Metered = Callable[..., tuple[ControlServer, MetricsExporter]]


def test_housekeeping_values_appear_once_samples_arrive(
    metered: Metered, proxies: Callable[[str], DeviceProxy]
) -> None:
    server, exporter = metered(start=False, units={"DUMMY_VALUE": "degC"})
    before = scrape(exporter.url)
    # No sample yet: no made-up values.
    assert value(before, "controlroom_hk", name="DUMMY_VALUE") is None
    assert value(before, "controlroom_hk_samples_total", server="dummy") == 0
    server.start()
    assert wait_until(
        lambda: value(scrape(exporter.url), "controlroom_hk", name="DUMMY_VALUE") is not None
    )
    samples = scrape(exporter.url)
    reading = value(samples, "controlroom_hk", server="dummy", name="DUMMY_VALUE", unit="degC")
    assert reading is not None and 18.0 < reading < 22.0
    # A parameter the units do not know is still exported, with an empty unit.
    assert value(samples, "controlroom_hk", name="DUMMY_OFFSET", unit="") == 0.0
    when = value(samples, "controlroom_hk_sample_time_seconds", server="dummy")
    assert when is not None and when > server.started_at - 1
    proxies(server.endpoint).set_offset(1.5)
    assert wait_until(
        lambda: value(scrape(exporter.url), "controlroom_hk", name="DUMMY_OFFSET") == 1.5
    )


def test_commands_are_counted_by_outcome_and_timed(
    metered: Metered, proxies: Callable[[str], DeviceProxy]
) -> None:
    server, exporter = metered()
    proxy = proxies(server.endpoint)
    for _ in range(3):
        proxy.read_value()
    with pytest.raises(RemoteError):
        proxy.fail("on purpose")
    proxy.ping()  # a service command, not a device command
    samples = scrape(exporter.url)
    total = "controlroom_commands_total"
    assert value(samples, total, server="dummy", command="read_value", outcome="ok") == 3
    assert value(samples, total, command="read_value", outcome="error") == 0
    assert value(samples, total, command="fail", outcome="error") == 1
    assert value(samples, total, command="fail", outcome="ok") == 0
    assert value(samples, total, command="busy", outcome="ok") == 0  # known, never called
    assert value(samples, total, command="ping") is None
    duration = "controlroom_command_duration_seconds"
    assert value(samples, f"{duration}_count", command="read_value") == 3
    assert value(samples, f"{duration}_count", command="fail") == 1
    assert value(samples, f"{duration}_bucket", command="fail", le="+Inf") == 1
    spent = value(samples, f"{duration}_sum", command="read_value")
    assert spent is not None and 0 < spent < 1


def test_server_info_counters_and_process_metrics(
    metered: Metered, proxies: Callable[[str], DeviceProxy]
) -> None:
    server, exporter = metered()
    proxies(server.endpoint).ping()
    _send_garbage(server.endpoint)
    samples = scrape(exporter.url)
    info = value(samples, "controlroom_server_info", server="dummy")
    assert info == 1
    assert value(samples, "controlroom_server_info", version=controlroom.__version__) == 1
    assert value(samples, "controlroom_server_info", commands_endpoint=server.endpoint) == 1
    uptime = value(samples, "controlroom_server_uptime_seconds", server="dummy")
    assert uptime is not None and uptime > 0
    requests = value(samples, "controlroom_requests_total", server="dummy")
    assert requests is not None and requests >= 2
    assert value(samples, "controlroom_malformed_frames_total", server="dummy") == 1
    assert value(samples, "controlroom_command_backlog", server="dummy") == 0
    assert value(samples, "controlroom_deferred_replies", server="dummy") == 0
    cpu = value(samples, "process_cpu_seconds_total")
    memory = value(samples, "process_resident_memory_bytes")
    assert cpu is not None and cpu > 0 and memory is not None and memory > 2**20


def _send_garbage(endpoint: str) -> None:
    """Bytes that are no request at all; the server answers with an error and counts it."""
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    try:
        sock.setsockopt(zmq.RCVTIMEO, 5000)
        sock.connect(endpoint)
        sock.send(b"not a request")
        assert sock.recv_multipart()  # the error reply: the server keeps serving
    finally:
        sock.close(linger=0)


def test_each_server_has_its_own_registry_and_port(metered: Metered) -> None:
    (_, first), (_, second) = metered("alpha"), metered("beta")
    assert first.port != second.port
    for exporter, mine, other in ((first, "alpha", "beta"), (second, "beta", "alpha")):
        samples = scrape(exporter.url)
        assert value(samples, "controlroom_server_info", server=mine) == 1
        assert value(samples, "controlroom_server_info", server=other) is None
        assert value(samples, "controlroom_commands_total", server=other) is None


def test_info_names_the_metrics_url_until_stopped(
    metered: Metered, proxies: Callable[[str], DeviceProxy]
) -> None:
    server, exporter = metered()
    proxy = proxies(server.endpoint)
    assert exporter.url == f"http://127.0.0.1:{exporter.port}/metrics"
    assert proxy.info()["metrics"] == exporter.url
    assert proxy.info()["name"] == "dummy"
    exporter.stop()
    assert "metrics" not in proxy.info()


def test_stop_closes_the_port_detaches_and_leaves_no_thread(metered: Metered) -> None:
    server, exporter = metered()
    threads = set(threading.enumerate())
    for _ in range(3):
        scrape(exporter.url)  # each request runs on a thread of its own
    exporter.stop()
    exporter.stop()  # idempotent
    assert exporter.housekeeping not in server.hooks.hk_sinks
    assert exporter.commands not in server.hooks.reply_observers
    assert not [t for t in set(threading.enumerate()) - threads if t.is_alive()]
    assert not [t for t in threading.enumerate() if t.name == "dummy-metrics"]
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(exporter.url, timeout=2)


def test_a_taken_port_is_a_metrics_error_and_nothing_is_attached() -> None:
    server = ControlServer("dummy", DeviceService(DummySensor()))  # never started
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsAddressError, match=f"127.0.0.1:{port}") as caught:
            attach_metrics(server, port=port)
    assert isinstance(caught.value, MetricsError)
    assert server.hooks.hk_sinks == [] and server.hooks.reply_observers == []
    assert "metrics" not in server.extra_info


def test_a_wildcard_host_is_scraped_through_loopback(metered: Metered) -> None:
    _, exporter = metered(host="0.0.0.0")
    assert exporter.url.startswith("http://127.0.0.1:")
    assert value(scrape(exporter.url), "controlroom_server_info", server="dummy") == 1


def test_an_ipv6_address_is_bracketed_in_the_url(metered: Metered) -> None:
    if not socket.has_ipv6 or not _ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    _, exporter = metered(host="::1")
    assert exporter.url == f"http://[::1]:{exporter.port}/metrics"
    assert value(scrape(exporter.url), "controlroom_server_info", server="dummy") == 1


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True
