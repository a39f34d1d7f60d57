"""The whole chain for real: proxies -> a control server process -> driver -> TCP -> simulator."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.devices.hexapod import HexapodController
from controlroom.devices.hexapod.sim.server import HexapodSimulator
from controlroom.rpc import RemoteError
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.processes import ServerProcess
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

ANY_PORT = "tcp://127.0.0.1:0"
SERVICES = ("registry", "logman", "confman", "storage", "scheduler", "scenarios", "procman")
SPEED = 10.0  # simulated seconds per second: homing takes about 2 s here


@pytest.fixture
def local_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No core services of anybody else's: the server's links go to free ports."""

    def free() -> str:
        return f"tcp://127.0.0.1:{free_tcp_port()}"

    services: dict[str, Any] = {name: {"commands": free(), "publish": free()} for name in SERVICES}
    services["logman"]["records"] = free()
    settings = {
        "services": services,
        "locations": {key: str(tmp_path / key) for key in ("conf_repo", "data", "state")},
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
    return path


@pytest.fixture
def hexapod(local_settings: Path) -> Iterator[tuple[HexapodSimulator, ServerProcess]]:
    simulator = HexapodSimulator(port=0, speed=SPEED)
    simulator.start()
    argv = [sys.executable, "-m", "controlroom.processes.device", "hexapod", "--sim"]
    argv += ["--transport", f"tcp://{simulator.host}:{simulator.port}"]
    argv += ["--endpoint", ANY_PORT, "--pub-endpoint", ANY_PORT]
    try:
        with ServerProcess(argv) as server:
            yield simulator, server
    finally:
        simulator.stop()


def _client(server: ServerProcess) -> DeviceProxy:
    return make_proxy(HexapodController, server.endpoint, timeout=10.0)


def test_home_move_and_housekeeping_through_the_server(
    hexapod: tuple[HexapodSimulator, ServerProcess],
) -> None:
    _, server = hexapod
    with _client(server) as hc:
        assert hc.version() == "3.1.0.4"
        with pytest.raises(RemoteError) as caught:
            hc.move_absolute(1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        assert caught.value.info.type == "HexapodRefused"
        assert "the control loop is off" in caught.value.info.message
        hc.homing(wait=True, timeout_s=60.0)
        assert hc.is_homing_done() and hc.get_machine_positions()["z"] == 0.0
        arrived = hc.move_absolute(2.0, -1.0, 1.5, 0.0, 0.0, 0.5, wait=True)
        assert arrived == {"x": 2.0, "y": -1.0, "z": 1.5, "rx": 0.0, "ry": 0.0, "rz": 0.5}
        with pytest.raises(RemoteError) as caught:
            hc.move_absolute(0.0, 0.0, 25.0, 0.0, 0.0, 0.0)
        assert caught.value.info.type == "OutsideLimits"
        assert "z: 25 mm is above the upper user workspace limit 20 mm" in caught.value.info.message

        def stored() -> dict[str, Any]:
            sample = hc.get_housekeeping() or {"values": {}}
            values: dict[str, Any] = sample["values"]
            return values

        # Housekeeping is polled by the server: wait for a sample taken after the move.
        assert wait_until(lambda: stored().get("HEXAPOD_USER_RZ") == 0.5, 15.0, every_s=0.1)
        values = stored()
        assert values["HEXAPOD_USER_X"] == 2.0 and values["HEXAPOD_HOMED"] is True
        assert values["HEXAPOD_IN_POSITION"] is True and values["HEXAPOD_ERROR_CODE"] == 0


def test_a_second_client_stops_a_long_waiting_move(
    hexapod: tuple[HexapodSimulator, ServerProcess],
) -> None:
    simulator, server = hexapod
    with _client(server) as mover, _client(server) as stopper:
        mover.homing(wait=True, timeout_s=60.0)
        outcome: dict[str, Any] = {}

        def move() -> None:
            try:  # 40 mm at 1 mm/s: 40 s of simulated time; the stop comes long before
                outcome["value"] = mover.move_absolute(40.0, 0.0, 0.0, 0.0, 0.0, 0.0, wait=True)
            except Exception as exc:  # the thread's outcome is what the test checks
                outcome["error"] = exc

        waiting = threading.Thread(target=move)
        waiting.start()
        try:
            # The server runs no read while the move waits: watch the hexapod itself.
            assert wait_until(lambda: simulator.user_pose()[0] > 1.0, 30.0, every_s=0.02)
            stopper.stop()
        finally:
            waiting.join(60.0)
        assert not waiting.is_alive()
        error = outcome.get("error")
        assert isinstance(error, RemoteError), outcome
        assert error.info.type == "Interrupted"
        assert "interrupted by stop" in error.info.message
        assert wait_until(lambda: not stopper.get_general_state()["in_motion"], 30.0)
        rested = stopper.get_user_positions()["x"]
        assert 1.0 < rested < 40.0
        assert not stopper.is_in_position()
        assert stopper.get_general_state()["positioning"] == "undefined"
