"""A server that discovery no longer finds (the registry lost it) is shown down, not left up."""

from __future__ import annotations

from typing import Any

from controlroom.rpc.follow import Subscriber
from controlroom.rpc.liveness import Liveness
from controlroom.web.discovery import DEVICE, Target
from controlroom.web.hub import Hub
from controlroom.web.watch import StatusLights


class _Found:
    """Discovery as far as the lights need it: whatever the test says is found."""

    def __init__(self) -> None:
        self.found: dict[str, Target] = {}

    def targets(self) -> dict[str, Target]:
        return dict(self.found)

    def close(self) -> None:
        """Nothing to close."""


def test_a_server_no_longer_found_turns_down_once() -> None:
    hub, found = Hub(), _Found()
    lights = StatusLights(hub, Subscriber(name="t"), found)  # type: ignore[arg-type,unused-ignore]
    dummy = Target("dummy", DEVICE, "tcp://198.51.100.2:6710")
    lights.servers.found = {"dummy": dummy}
    lights._show({"dummy": Liveness(up=True)})
    assert hub.servers()["dummy"]["up"] is True

    lights.servers.found = {}
    published_before = hub.published
    lights._show({})
    light: dict[str, Any] = hub.servers()["dummy"]
    assert light["up"] is False and light["error"] == "no longer registered"
    assert hub.published == published_before + 1
    lights._show({})  # still gone: nothing new to tell
    assert hub.published == published_before + 1
