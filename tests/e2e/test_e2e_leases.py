"""Leases on the device page in real Chromium: an operator takes the lease, the badge shows
it, another operator's forms are disabled until it is released; an admin breaks a lease
after confirming. Each user has a browser context (cookies) of their own."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from e2e_helpers import artifacts_dir, serving
from playwright.sync_api import expect

from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy
from controlroom.testing.waiting import wait_until
from controlroom.web import create_app
from controlroom.web.discovery import StaticDiscovery, Target
from controlroom.web.sessions import hash_password

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORDS = {"otto": "operator-pw", "olga": "second-operator-pw", "ada": "admin-pw"}
ROLES = {"otto": "operator", "olga": "operator", "ada": "admin"}
TIMEOUT_MS = 15_000
SUBMIT = '.command-card[data-command="set_offset"] button.cr-submit'
READ = '.command-card[data-command="get_offset"] button.cr-submit'  # a read: open to all


def _badge(user: str) -> re.Pattern[str]:
    """The badge of a lease ``user`` took in the panel (a JavaScript regex too)."""
    return re.compile(
        rf"^leased by {user} via web \(key anonymous\) until \d\d:\d\d:\d\dZ"
        r" \((?:\d+:)?\d\d:\d\d left\)$"
    )


@pytest.fixture
def dummy() -> Iterator[ControlServer]:
    with ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=0.1) as server:
        yield server


@pytest.fixture
def panel_url(dummy: ControlServer) -> Iterator[str]:
    users = {
        name: {"password_hash": hash_password(PASSWORDS[name]), "role": ROLES[name]}
        for name in PASSWORDS
    }
    settings = {"site": "LAB", "services": {}, "web": {"users": users, "discover_every_s": 0.5}}
    targets = {"dummy": Target("dummy", "device", dummy.endpoint, dummy.pub_endpoint)}
    app = create_app(settings, discovery=StaticDiscovery(targets))
    with serving(app) as url:
        # The lease events reach the pages through the panel's feed of the dummy: it
        # follows the dummy once its first HK has come through.
        hub = app.state.web.hub
        assert wait_until(lambda: hub.latest("hk/dummy") is not None, timeout_s=15)
        yield url.rstrip("/")


def _open(browser: Browser, url: str, user: str, errors: list[str]) -> Page:
    """A page of a fresh browser context, logged in as ``user``, on the dummy's page."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.on("pageerror", lambda exc: errors.append(f"{user}: {exc}"))
    page.goto(f"{url}/device/dummy")
    page.wait_for_url("**/login?next=*")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url("**/device/dummy*")
    page.wait_for_selector(".live-state.live", timeout=TIMEOUT_MS)
    page.wait_for_selector(f"{SUBMIT}", timeout=TIMEOUT_MS)
    expect(page.locator("#lease-badge")).to_have_text("not leased", timeout=TIMEOUT_MS)
    return page


def _holder(dummy: ControlServer) -> Any:
    with Proxy(dummy.endpoint, timeout=5.0) as proxy:
        return proxy.lease_status()


def test_a_lease_taken_in_the_page_disables_the_forms_of_another_operator(
    browser: Browser, panel_url: str, dummy: ControlServer
) -> None:
    errors: list[str] = []
    otto = _open(browser, panel_url, "otto", errors)
    olga = _open(browser, panel_url, "olga", errors)
    expect(olga.locator(SUBMIT)).to_be_enabled()

    otto.select_option("#lease-seconds", label="15 min")
    otto.click("#lease-take")
    badge = otto.locator("#lease-badge")
    expect(badge).to_have_text(_badge("otto"), timeout=TIMEOUT_MS)
    expect(badge).to_have_attribute("data-state", "mine")
    assert _holder(dummy)["holder"] == "otto via web (key anonymous)"
    expect(otto.locator("#lease-renew")).to_be_visible()
    expect(otto.locator(SUBMIT)).to_be_enabled()  # the holder commands
    otto.screenshot(path=str(artifacts_dir() / "device-lease-holder.png"))

    # The other operator's page learns it from the lease_taken event.
    expect(olga.locator("#lease-badge")).to_have_attribute(
        "data-state", "other", timeout=TIMEOUT_MS
    )
    expect(olga.locator("#lease-badge")).to_have_text(_badge("otto"))
    expect(olga.locator(SUBMIT)).to_be_disabled()
    expect(
        olga.locator('.command-card[data-command="set_offset"] [name="offset"]')
    ).to_be_disabled()
    expect(olga.locator(READ)).to_be_enabled()
    olga.click(READ)
    expect(
        olga.locator('.command-card[data-command="get_offset"] .cr-outcome.cr-ok')
    ).to_be_visible(timeout=TIMEOUT_MS)
    expect(olga.locator("#commands-note")).to_contain_text(
        re.compile(r"leased by otto via web \(key anonymous\) until \d\d:\d\d:\d\dZ")
    )
    expect(olga.locator("#lease-actions button")).to_have_count(0)  # no Take, no Break
    olga.screenshot(path=str(artifacts_dir() / "device-leased-by-other.png"), full_page=True)
    overview = olga.context.new_page()  # the overview marks the leased device
    overview.on("pageerror", lambda exc: errors.append(f"overview: {exc}"))
    overview.goto(f"{panel_url}/")
    mark = overview.locator('#servers tr[data-server="dummy"] .leased-mark')
    expect(mark).to_have_attribute(
        "title", re.compile(r"^leased by otto via web"), timeout=TIMEOUT_MS
    )
    expect(overview.locator(".live-state.live")).to_be_visible(timeout=TIMEOUT_MS)

    otto.click("#lease-release")
    expect(badge).to_have_text("not leased", timeout=TIMEOUT_MS)
    expect(olga.locator("#lease-badge")).to_have_text("not leased", timeout=TIMEOUT_MS)
    expect(olga.locator(SUBMIT)).to_be_enabled()
    expect(olga.locator("#commands-note")).to_be_hidden()
    expect(mark).to_have_count(0, timeout=TIMEOUT_MS)  # from the lease_released event
    assert _holder(dummy) is None
    olga.fill('.command-card[data-command="set_offset"] [name="offset"]', "1.5")
    olga.click(SUBMIT)
    expect(
        olga.locator('.command-card[data-command="set_offset"] .cr-outcome.cr-ok')
    ).to_be_visible(timeout=TIMEOUT_MS)
    assert errors == []


def test_an_admin_breaks_a_lease_after_confirming(
    browser: Browser, panel_url: str, dummy: ControlServer
) -> None:
    errors: list[str] = []
    olga = _open(browser, panel_url, "olga", errors)
    ada = _open(browser, panel_url, "ada", errors)
    olga.select_option("#lease-seconds", label="1 h")
    before = time.time()
    olga.click("#lease-take")
    expect(olga.locator("#lease-badge")).to_have_text(_badge("olga"), timeout=TIMEOUT_MS)
    assert before + 3600 <= _holder(dummy)["until_s"] <= time.time() + 3600  # the 1 h chosen

    expect(ada.locator("#lease-badge")).to_have_attribute("data-state", "other", timeout=TIMEOUT_MS)
    expect(ada.locator(SUBMIT)).to_be_disabled()  # an admin's commands wait too
    ada.click("#lease-break")
    expect(ada.locator("#lease-confirm")).to_contain_text("Break the lease of olga via web")
    ada.screenshot(path=str(artifacts_dir() / "device-lease-break.png"))
    assert _holder(dummy) is not None  # nothing happens before the answer
    ada.click("#lease-break-yes")
    expect(ada.locator("#lease-badge")).to_have_text("not leased", timeout=TIMEOUT_MS)
    expect(olga.locator("#lease-badge")).to_have_text("not leased", timeout=TIMEOUT_MS)
    expect(ada.locator(SUBMIT)).to_be_enabled()
    assert _holder(dummy) is None
    assert errors == []
