"""Polling periods: only finite periods in the declared range; housekeeping never stops."""

from __future__ import annotations

import math
import time

import pytest
from rpc_pubsub import Subscription

from controlroom.device.proxy import DeviceProxy
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer


def test_a_huge_period_is_refused_and_housekeeping_keeps_flowing(
    dummy: tuple[ControlServer, DeviceProxy],
) -> None:
    server, proxy = dummy
    with Subscription(server.pub_endpoint, f"hk/{server.name}") as hk:
        assert hk.next_hk(after=0.0) is not None
        with pytest.raises(ValueError, match="hk_period_s") as refused:
            proxy.set_rates(hk_period_s=1e300, status_period_s=1e300)
        assert "86400" in str(refused.value)  # says what is allowed
        asked_at = time.time()
        assert hk.next_hk(after=asked_at) is not None
        assert hk.next_hk(after=time.time()) is not None  # and keeps flowing
    assert proxy.get_rates()["hk"]["requested_s"] == 0.05
    assert proxy.process_status()["background_threads"]["publisher"]["restarts"] == 0


@pytest.mark.parametrize(
    "period", [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e-9, 86_400.5, 2**63 - 1]
)
def test_periods_outside_the_range_are_refused_and_change_nothing(
    dummy: tuple[ControlServer, DeviceProxy], period: float
) -> None:
    _, proxy = dummy
    before = proxy.get_rates()
    with pytest.raises(ValueError, match="status_period_s"):
        # The valid hk period is not applied either: a refused call changes nothing.
        proxy.set_rates(hk_period_s=0.2, status_period_s=period)
    assert proxy.get_rates() == before
    assert proxy.ping() == "pong"


@pytest.mark.parametrize("period", ["1", True, [1.0]])
def test_a_period_that_is_no_number_is_a_type_error(
    dummy: tuple[ControlServer, DeviceProxy], period: object
) -> None:
    _, proxy = dummy
    with pytest.raises(TypeError, match="hk_period_s must be a number of seconds"):
        proxy.set_rates(hk_period_s=period)  # type: ignore[arg-type]


def test_the_range_ends_are_accepted(dummy: tuple[ControlServer, DeviceProxy]) -> None:
    _, proxy = dummy
    rates = proxy.set_rates(hk_period_s=86_400.0, status_period_s=0.001)
    assert rates["hk"]["requested_s"] == 86_400.0
    assert rates["status"]["requested_s"] == 0.001


def test_a_server_is_not_built_with_a_period_it_could_not_keep() -> None:
    with pytest.raises(ValueError, match="hk_period_s"):
        ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=math.inf)
