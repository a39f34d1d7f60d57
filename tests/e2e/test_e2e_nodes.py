"""The Nodes page in real Chromium: the node list, a node's lines streaming into its terminal,
a line sent from the page reaching the node and shown as sent; a viewer who cannot send."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from e2e_helpers import artifacts_dir, serving

from controlroom.bridges.nodes import NodeBridge, build_bridge_server
from controlroom.testing.waiting import wait_until
from controlroom.web import create_app
from controlroom.web.discovery import BRIDGE, StaticDiscovery, Target
from controlroom.web.sessions import hash_password

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORDS = {"otto": "operator-pw", "vera": "viewer-pw"}
ROLES = {"otto": "operator", "vera": "viewer"}
TIMEOUT_MS = 15_000
SETTINGS = {"bridges": {"nodes": {"port": 0, "stream_period_s": 0.05}}}
TERMINAL_LINE = '#terminal .tline[data-dir="{}"]:has-text("{}")'


class FakeNode:
    """A sensor node made of a plain socket."""

    def __init__(self, port: int, hello: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        self.reader = self.sock.makefile("rb")
        self.say(hello)
        assert self.hear().startswith("OK HELLO")

    def say(self, *lines: str) -> None:
        self.sock.sendall("".join(f"{line}\n" for line in lines).encode())

    def hear(self) -> str:
        return self.reader.readline().decode().rstrip("\n")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def lab() -> Iterator[tuple[NodeBridge, FakeNode, str]]:
    """A node bridge with one fake node, and the panel following the bridge; yields its URL."""
    server, bridge = build_bridge_server(SETTINGS)
    users = {
        name: {"password_hash": hash_password(PASSWORDS[name]), "role": ROLES[name]}
        for name in PASSWORDS
    }
    settings = {"site": "LAB", "services": {}, "web": {"users": users, "discover_every_s": 0.5}}
    with server:
        node = FakeNode(bridge.server.port, "HELLO fedm-01 fedm fw=3")
        try:
            target = Target("nodes", BRIDGE, server.endpoint, server.pub_endpoint)
            app = create_app(settings, discovery=StaticDiscovery({"nodes": target}))
            with serving(app) as url:
                hub = app.state.web.hub
                # Once the bridge's status arrives the panel's feed is subscribed.
                assert wait_until(lambda: hub.latest("status/nodes"), timeout_s=15)
                yield bridge, node, url.rstrip("/")
        finally:
            node.close()


def _log_in(page: Page, url: str, user: str) -> None:
    page.goto(f"{url}/nodes?node=fedm-01")
    page.wait_for_url("**/login?next=*")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url("**/nodes?node=fedm-01")
    page.wait_for_selector(".live-state.live", timeout=TIMEOUT_MS)
    page.wait_for_selector('#nodes tr[data-node="fedm-01"]', timeout=TIMEOUT_MS)


def test_an_operator_watches_a_node_and_sends_it_a_line(
    browser: Browser, lab: tuple[NodeBridge, FakeNode, str]
) -> None:
    bridge, node, url = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _log_in(page, url, "otto")
        row = page.locator('#nodes tr[data-node="fedm-01"]')
        assert "fedm" in row.inner_text() and "connected" in row.inner_text()

        node.say("HB 100.5", "STATUS hv=1250 temp=31.5", "DATA PULSE 1000 1 12", "BOGUS line")
        page.wait_for_selector(TERMINAL_LINE.format("received", "STATUS hv=1250"))
        page.wait_for_selector(TERMINAL_LINE.format("received", "BOGUS line"))
        page.wait_for_selector(  # the list catches up: a malformed line counted
            '#nodes tr[data-node="fedm-01"] td[data-kind="malformed"]:text-is("1")',
            timeout=TIMEOUT_MS,
        )

        page.fill("#send-text", "RATE 20")
        page.click("#send-button")
        outcome = page.wait_for_selector("#send-outcome.ok")
        assert outcome is not None and "8 bytes" in outcome.inner_text()
        assert node.hear() == "RATE 20"
        page.wait_for_selector(TERMINAL_LINE.format("sent", "RATE 20"), timeout=TIMEOUT_MS)
        assert page.input_value("#send-text") == ""

        page.fill("#send-text", "TWO\tWORDS")  # a tab is a control character: refused
        page.click("#send-button")
        refusal = page.wait_for_selector("#send-outcome.error")
        assert refusal is not None and "control characters" in refusal.inner_text()
        assert bridge.network.counters()["fedm-01"]["sent"] == 1

        page.check("#pause")  # paused: lines wait, then all show on resume
        node.say("LOG INFO while paused")
        page.wait_for_selector("#terminal-count:has-text('waiting (paused)')")
        assert page.locator(TERMINAL_LINE.format("received", "while paused")).count() == 0
        page.uncheck("#pause")
        page.wait_for_selector(TERMINAL_LINE.format("received", "while paused"))
        page.screenshot(path=str(artifacts_dir() / "nodes-terminal.png"), full_page=True)
    finally:
        page.close()
    assert errors == []


def test_a_viewer_follows_the_stream_but_cannot_send(
    browser: Browser, lab: tuple[NodeBridge, FakeNode, str]
) -> None:
    bridge, node, url = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _log_in(page, url, "vera")
        node.say("LOG INFO hello viewer")
        page.wait_for_selector(TERMINAL_LINE.format("received", "hello viewer"))
        assert page.get_attribute("#send-fieldset", "disabled") is not None
        assert "needs the operator role" in page.inner_text("#send-note")
        status = page.evaluate(  # going around the disabled form: the panel refuses
            "() => import('/static/app.js').then((app) => app.api('/api/nodes/fedm-01/send',"
            " {method: 'POST', body: {text: 'RESET'}})).then(() => 200, e => e.status)"
        )
        assert status == 403
        assert bridge.network.counters()["fedm-01"]["sent"] == 0
    finally:
        page.close()
    assert errors == []
