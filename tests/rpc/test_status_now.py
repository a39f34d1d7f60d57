"""A server publishes its status at once when told it changed, not a period later."""

from __future__ import annotations

import time

from rpc_pubsub import Subscription

from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer

HOUR_S = 3600.0


def test_a_changed_status_is_published_before_its_period() -> None:
    server = ControlServer(
        "dummy",
        DeviceService(DummySensor(seed=1)),
        endpoint="tcp://127.0.0.1:0",
        pub_endpoint="tcp://127.0.0.1:0",
        status_period_s=HOUR_S,
        hk_period_s=HOUR_S,
    )
    with server, Subscription(server.pub_endpoint, "status/") as status:
        # The status published at start went out before this subscription joined; from
        # here on only a status told to change can come (the next period is an hour away).
        published = None
        deadline = time.monotonic() + 10.0
        while published is None and time.monotonic() < deadline:
            told = time.time()
            server.status_changed()
            published = status.next_status(after=told, timeout_s=0.5)
        assert published is not None
