"""Core services cannot be leased: one operator's lease would stop the lab's heartbeats and rows."""

from __future__ import annotations

import pytest

from controlroom.devices.dummy import DummySensor
from controlroom.rpc import Proxy
from controlroom.services.control import service_server


def test_a_core_service_refuses_a_lease() -> None:
    endpoints = {"commands": "tcp://127.0.0.1:0", "publish": "tcp://127.0.0.1:0"}
    server = service_server({"services": {"registry": endpoints}}, "registry", DummySensor())
    server.start()
    try:
        with Proxy(server.endpoint, timeout=5.0) as client:
            with pytest.raises(Exception, match=r"cannot be leased|not leasable"):
                client.lease(60)
            assert client.lease_status() is None
    finally:
        server.stop()
