"""The hexapod page's HTTP side in process, against a real hexapod simulator and control server:
the page and its nav entry, its meta, homing, a move and a STOP by an operator, refused for a
viewer, and the live status the page shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from panel_helpers import MakeClient, check_device_page, device_panel, login

from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.device.serving import DeviceService
from controlroom.device.transports import TcpTransport
from controlroom.devices.hexapod import HexapodController
from controlroom.devices.hexapod.sim.server import HexapodSimulator
from controlroom.rpc import ControlServer
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration
COMMAND = "/api/device/hexapod/command"
WAIT_S = 20.0


class Hexapod:
    """A simulated hexapod served by a control server in this process."""

    def __init__(self) -> None:
        # Simulated time runs 20x faster: homing takes about a second here.
        self.simulator = HexapodSimulator(port=0, speed=20.0)
        self.simulator.start()
        defaults = HexapodController.transport_defaults
        transport = TcpTransport(self.simulator.host, self.simulator.port, **defaults)
        self.server = ControlServer(
            "hexapod", DeviceService(HexapodController(transport)), status_period_s=0.05
        )
        self.server.start()

    def proxy(self) -> DeviceProxy:
        return make_proxy(HexapodController, self.server.endpoint, timeout=10.0)

    def stop(self) -> None:
        self.server.stop()
        self.simulator.stop()


@pytest.fixture
def hexapod() -> Iterator[Hexapod]:
    served = Hexapod()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def panel(make_client: MakeClient, hexapod: Hexapod) -> TestClient:
    return device_panel(make_client, "hexapod", hexapod.server, WAIT_S)


def _send(panel: TestClient, csrf: str, command: str, **args: Any) -> dict[str, Any]:
    sent = panel.post(
        COMMAND, json={"command": command, "args": args}, headers={"X-CSRF-Token": csrf}
    )
    assert sent.status_code == 200, sent.text
    outcome: dict[str, Any] = sent.json()
    return outcome


def test_the_page_needs_a_session_and_is_in_the_nav_with_a_hexapod(
    panel: TestClient, client: TestClient
) -> None:
    html = check_device_page(panel, client, "hexapod", "Hexapod")
    assert 'id="cmd-stop"' in html and 'id="move-form"' in html
    # The buttons send through the route every device command of the panel takes.
    script = panel.get("/static/hexapod.js")
    assert script.status_code == 200 and 'from "./devicepage.js"' in script.text
    assert "/api/device/" in panel.get("/static/devicepage.js").text


def test_meta_gives_the_axes_and_says_who_may_command(panel: TestClient) -> None:
    login(panel, "vera")
    meta = panel.get("/api/hexapod").json()
    assert meta["device"] == "hexapod" and meta["up"] is True and meta["can_command"] is False
    assert [(a["name"], a["unit"]) for a in meta["axes"]][::3] == [("x", "mm"), ("rx", "deg")]
    assert set(meta["moves"].values()) == {
        "move_absolute", "move_relative_user", "move_relative_object",
    }  # fmt: skip
    login(panel, "otto")
    assert panel.get("/api/hexapod").json()["can_command"] is True
    assert panel.get("/api/hexapod", params={"device": "nope"}).status_code == 404


def test_a_viewer_is_refused_an_operator_homes_moves_and_stops(
    panel: TestClient, hexapod: Hexapod
) -> None:
    csrf = login(panel, "vera")
    refused = panel.post(
        COMMAND, json={"command": "homing", "args": {}}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 403 and "needs operator" in refused.json()["detail"]
    csrf = login(panel, "otto")
    assert _send(panel, csrf, "homing")["ok"] is True
    with hexapod.proxy() as proxy:
        assert wait_until(proxy.is_homing_done, WAIT_S, every_s=0.05)
        long_move = _send(panel, csrf, "move_absolute", x=40, y=0, z=0, rx=0, ry=0, rz=0)
        assert long_move["ok"] is True, long_move
        assert wait_until(lambda: hexapod.simulator.user_pose()[0] > 1.0, WAIT_S, every_s=0.02)
        assert _send(panel, csrf, "stop")["ok"] is True
        assert wait_until(lambda: not proxy.get_general_state()["in_motion"], WAIT_S)
        rested = proxy.get_user_positions()["x"]
        assert 1.0 < rested < 40.0 and not proxy.is_in_position()
        wrong = _send(panel, csrf, "move_absolute", x=0, y=0, z=25, rx=0, ry=0, rz=0)
        assert wrong["ok"] is False and wrong["error"]["type"] == "OutsideLimits"
    # What the page shows: the status the hexapod's server publishes, as the panel's hub has it.
    hub = panel.app.state.web.hub  # type: ignore[attr-defined]

    def shown() -> dict[str, Any]:
        message = hub.latest("status/hexapod")
        return dict(message.values) if message is not None else {}

    assert wait_until(lambda: shown().get("user_x") == rested, WAIT_S, every_s=0.05)
    assert shown()["homed"] is True and shown()["moving"] is False and shown()["error"] is False
