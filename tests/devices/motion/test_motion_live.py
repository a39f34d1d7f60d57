"""The whole chain against the running simulator: proxy → control server → driver → TCP → stages."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.device.serving import DeviceService
from controlroom.device.transports import TcpTransport
from controlroom.devices.motion import MotionController
from controlroom.devices.motion.sim.server import MotionSimulator
from controlroom.rpc import ControlServer, RemoteError
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def motion() -> Iterator[tuple[MotionSimulator, DeviceProxy]]:
    # Simulated time runs 20x faster: homing every axis takes 0.17 s, not 3.4 s.
    simulator = MotionSimulator(port=0, speed=20.0)
    simulator.start()
    transport = TcpTransport(simulator.host, simulator.port, **MotionController.transport_defaults)
    server = ControlServer("motion", DeviceService(MotionController(transport)), hk_period_s=0.05)
    server.start()
    proxy = make_proxy(MotionController, server.endpoint, timeout=5.0)
    try:
        yield simulator, proxy
    finally:
        proxy.close()
        server.stop()
        simulator.stop()


def test_home_then_move_absolute_and_relative(
    motion: tuple[MotionSimulator, DeviceProxy],
) -> None:
    _, mc = motion
    assert mc.version().startswith("ESP300 Version")
    mc.motor_off(1)
    with pytest.raises(RemoteError) as caught:
        mc.start_move_absolute(1, 5.0)
    assert caught.value.info.type == "MotionRefused"
    assert "113: AXIS 1 MOTOR NOT ENABLED" in caught.value.info.message
    assert [mc.homed(axis) for axis in (1, 2, 3, 4)] == [False] * 4
    mc.home(None, True, 30.0)
    assert [mc.homed(axis) for axis in (1, 2, 3, 4)] == [True] * 4
    mc.move_absolute(1, 20.0, wait=True)
    assert mc.position(1) == 20.0 and mc.in_position(1)
    mc.move_relative(4, -45.0, wait=True)
    assert mc.wait_in_position() == {"x": 20.0, "y": 0.0, "z": 0.0, "rz": -45.0}

    def stored() -> dict[str, object]:
        sample = mc.get_housekeeping() or {"values": {}}
        values: dict[str, object] = sample["values"]
        return values

    # Housekeeping is polled by the server: wait for a sample taken after the moves.
    assert wait_until(lambda: stored().get("rz_position") == -45.0)
    values = stored()
    assert values["x_position"] == 20.0 and values["x_homed"] is True
    assert values["rz_in_position"] is True


def test_limits_and_bad_arguments_come_back_as_errors(
    motion: tuple[MotionSimulator, DeviceProxy],
) -> None:
    _, mc = motion
    mc.home(1, wait=True)
    with pytest.raises(RemoteError) as caught:
        mc.move_absolute(1, 60.0)
    assert caught.value.info.type == "OutsideLimits"
    with pytest.raises(RemoteError) as caught:
        mc.call("set_velocity", 1, 0.0)
    assert caught.value.info.type == "ArgumentError"
    # Accepted by the driver's range, refused by the stage (above its maximum).
    with pytest.raises(RemoteError) as caught:
        mc.set_velocity(1, 90.0)
    assert caught.value.info.type == "MotionRefused"
    assert mc.ping()  # the server keeps serving


def test_a_stop_ends_the_move_short_of_its_target(
    motion: tuple[MotionSimulator, DeviceProxy],
) -> None:
    _, mc = motion
    mc.home(2, wait=True)
    mc.move_absolute(2, 45.0)  # 9.25 s simulated, about 0.46 s here
    assert wait_until(lambda: mc.position(2) > 5.0, 10.0)
    assert not mc.motion_done(2)
    mc.stop(2)
    assert wait_until(lambda: mc.motion_done(2), 10.0)
    assert 5.0 < mc.position(2) < 45.0
    assert not mc.in_position(2)
    with pytest.raises(RemoteError) as caught:
        mc.wait_in_position(2)
    assert caught.value.info.type == "MotionFailed"


def test_a_following_error_fails_the_waited_move(
    motion: tuple[MotionSimulator, DeviceProxy],
) -> None:
    simulator, mc = motion
    mc.home(3, wait=True)
    simulator.inject_following_error(3, 0.5)
    with pytest.raises(RemoteError) as caught:
        mc.move_absolute(3, 20.0, wait=True)
    assert caught.value.info.type == "MotionFailed"
    assert "303: AXIS 3 FOLLOWING ERROR" in caught.value.info.message
    assert not mc.motor_enabled(3)
    mc.home(3, wait=True)  # switches the motor on again
    assert mc.in_position(3) and mc.motor_enabled(3)


def test_a_second_client_stops_a_move_that_waits_and_the_wait_ends_interrupted(
    motion: tuple[MotionSimulator, DeviceProxy],
) -> None:
    simulator, mc = motion
    mc.home(2, wait=True)
    mc.set_velocity(2, 0.5)  # 45 mm take 90 s simulated (4.5 s here): the stop comes first
    waiting = make_proxy(MotionController, mc.endpoint, timeout=60.0)
    outcome: list[BaseException | None] = []

    def move() -> None:
        try:
            waiting.move_absolute(2, 45.0, wait=True)
            outcome.append(None)
        except RemoteError as exc:
            outcome.append(exc)

    def stage_position() -> float:  # asked of the stage itself: the server is busy waiting
        return float(simulator.handle_line("2TP") or "nan")

    mover = threading.Thread(target=move)
    mover.start()
    try:
        assert wait_until(lambda: stage_position() > 0.5, 20.0)
        mc.stop(2)  # through the same server, while its move waits
    finally:
        mover.join(30)
        waiting.close()
    error = outcome[0]
    assert isinstance(error, RemoteError) and error.info.type == "Interrupted"
    assert "interrupted by stop" in error.info.message
    assert wait_until(lambda: mc.motion_done(2), 10.0)
    assert 0.5 < mc.position(2) < 45.0  # decelerated where it was, far short of 45
