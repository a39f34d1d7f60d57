"""The overview in real Chromium: log in, see a live value change, see the status light."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from e2e_helpers import artifacts_dir, serving

from controlroom.rpc import ControlServer
from controlroom.testing.dummy_server import running_dummy
from controlroom.web import create_app
from controlroom.web.discovery import StaticDiscovery, Target
from controlroom.web.sessions import hash_password

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PASSWORD = "operator-pw"
VALUE = 'tr[data-param="dummy/DUMMY_TEMP"] td.value'
TIMEOUT_MS = 15_000


@pytest.fixture
def dummy() -> Iterator[ControlServer]:
    with running_dummy(0.2) as server:
        yield server


@pytest.fixture
def panel_url(dummy: ControlServer) -> Iterator[str]:
    settings = {
        "site": "LAB",
        "services": {},
        "web": {
            "users": {"otto": {"password_hash": hash_password(PASSWORD), "role": "operator"}},
            "discover_every_s": 0.5,
        },
    }
    target = Target("dummy", "device", dummy.endpoint, dummy.pub_endpoint)
    app = create_app(settings, discovery=StaticDiscovery({"dummy": target}))
    with serving(app) as url:
        yield url


CROSSING = {
    "time": 0.0,
    "origin": "DUMMY",
    "parameter": "DUMMY_TEMP",
    "band": "non_operational",
    "state": "entered_alarm",
    "side": "high",
    "value": 41.5,
    "unit": "degC",
    "low": 0.0,
    "high": 40.0,
}


def test_the_overview_shows_a_value_changing_live(
    browser: Browser, panel_url: str, dummy: ControlServer
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(panel_url)
        page.wait_for_url("**/login?next=*")
        page.fill("#username", "otto")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(panel_url)
        page.wait_for_selector(".live-state.live", timeout=TIMEOUT_MS)
        page.wait_for_selector('tr[data-server="dummy"] .light.up', timeout=TIMEOUT_MS)
        first = page.wait_for_selector(VALUE, timeout=TIMEOUT_MS)
        assert first is not None
        before = first.inner_text()
        page.wait_for_function(
            "([sel, before]) => { const c = document.querySelector(sel);"
            " return c && c.textContent !== before; }",
            arg=[VALUE, before],
            timeout=TIMEOUT_MS,
        )
        cell = page.locator(VALUE)
        assert "ok" in (cell.get_attribute("class") or "")  # 15-25 degC: inside its band
        assert page.locator('tr[data-param="dummy/DUMMY_TEMP"] td').nth(3).inner_text() == "degC"
        assert "otto (operator)" in page.inner_text("nav")
        dummy.notify("limit", CROSSING)
        crossing = page.wait_for_selector("tr.crossing.alarm", timeout=TIMEOUT_MS)
        assert crossing is not None
        assert "DUMMY_TEMP entered alarm (non_operational band, high)" in crossing.inner_text()
        page.screenshot(path=str(artifacts_dir() / "overview.png"), full_page=True)
    finally:
        page.close()
    assert errors == []
