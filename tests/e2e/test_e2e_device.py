"""The device page in real Chromium: plots with history, a command sent from its form and
its result, a value refused in the form, the journal; a viewer who cannot command; log out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from e2e_helpers import artifacts_dir, serving
from playwright.sync_api import expect

from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy, RpcError
from controlroom.services.storage.attach import attach_storage
from controlroom.services.storage.client import StorageClient
from controlroom.services.storage.server import StorageManager
from controlroom.services.storage.workers import BackendWorker
from controlroom.telemetry import attach_telemetry, shipped_dictionary
from controlroom.testing.waiting import wait_until
from controlroom.web import create_app
from controlroom.web.discovery import StaticDiscovery, Target
from controlroom.web.sessions import hash_password

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORDS = {"otto": "operator-pw", "vera": "viewer-pw"}
ROLES = {"otto": "operator", "vera": "viewer"}
TIMEOUT_MS = 15_000
STORED_FIRST = 10  # rows stored before the page opens: its plot starts from history
CARD = '.command-card[data-command="{}"]'


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[ControlServer, ControlServer]]:
    """A storage manager on SQLite and a dummy sending it HK and its journal."""
    worker = BackendWorker("sqlite", {"path": str(tmp_path / "hk.sqlite")})
    storage = ControlServer(
        "storage", DeviceService(StorageManager([worker], shipped_dictionary()))
    )
    dummy = ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=0.1)
    attach_telemetry(dummy, shipped_dictionary(), site="LAB")
    with storage:
        link = attach_storage(dummy, {}, endpoint=storage.endpoint)
        try:
            with dummy:
                assert wait_until(lambda: _stored(storage) >= STORED_FIRST, timeout_s=15)
                yield dummy, storage
        finally:
            link.stop()


def _stored(storage: ControlServer) -> int:
    with StorageClient(storage.endpoint, timeout=2.0) as client:
        try:
            return len(client.get_housekeeping("DUMMY_TEMP", origin="DUMMY")["times"])
        except RpcError:  # not registered yet
            return 0


@pytest.fixture
def panel_url(lab: tuple[ControlServer, ControlServer]) -> Iterator[str]:
    dummy, storage = lab
    users = {
        name: {"password_hash": hash_password(PASSWORDS[name]), "role": ROLES[name]}
        for name in PASSWORDS
    }
    settings = {"site": "LAB", "services": {}, "web": {"users": users, "discover_every_s": 0.5}}
    targets = {
        "dummy": Target("dummy", "device", dummy.endpoint, dummy.pub_endpoint),
        "storage": Target("storage", "service", storage.endpoint, storage.pub_endpoint),
    }
    app = create_app(settings, discovery=StaticDiscovery(targets))
    with serving(app) as url:
        yield url.rstrip("/")


def _log_in(page: Page, url: str, user: str) -> None:
    page.goto(f"{url}/device/dummy")
    page.wait_for_url("**/login?next=*")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url("**/device/dummy*")
    page.wait_for_selector(".live-state.live", timeout=TIMEOUT_MS)
    page.wait_for_selector(f"{CARD.format('set_offset')} form", timeout=TIMEOUT_MS)


def _submit(page: Page, command: str, **fields: str) -> None:
    card = CARD.format(command)
    for name, value in fields.items():
        page.fill(f'{card} [name="{name}"]', value)
    page.click(f"{card} button.cr-submit")


def _offset(dummy: ControlServer) -> float:
    with Proxy(dummy.endpoint, timeout=5.0) as proxy:
        return float(proxy.call("get_offset"))


def test_an_operator_sends_a_command_from_its_form_and_sees_the_result(
    browser: Browser, panel_url: str, lab: tuple[ControlServer, ControlServer]
) -> None:
    dummy, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _log_in(page, panel_url, "otto")
        history = page.wait_for_selector('figure[data-param="DUMMY_TEMP"][data-history]')
        assert history is not None and int(history.get_attribute("data-history") or 0) >= 10
        page.wait_for_function(  # live points join the history
            "() => { const t = crDevice.plots.inspect().DUMMY_TEMP.series.DUMMY_TEMP;"
            " return t.count > Number(document.querySelector("
            "'figure[data-param=\"DUMMY_TEMP\"]').dataset.history); }",
            timeout=TIMEOUT_MS,
        )
        _submit(page, "set_offset", offset="2.5")
        done = page.wait_for_selector(f"{CARD.format('set_offset')} .cr-outcome.cr-ok .cr-result")
        assert done is not None and done.inner_text() == "done (no value returned)"
        assert _offset(dummy) == 2.5
        _submit(page, "get_offset")
        read = page.wait_for_selector(f"{CARD.format('get_offset')} .cr-outcome.cr-ok .cr-result")
        assert read is not None and read.inner_text() == "2.5"

        _submit(page, "set_offset", offset="500")  # refused in the form, never sent
        refusal = page.wait_for_selector(f"{CARD.format('set_offset')} .cr-field-error:not(:empty)")
        assert refusal is not None
        assert "out of range: 500 is above the maximum 100" in refusal.inner_text()
        assert _offset(dummy) == 2.5

        _submit(page, "fail", message="on purpose")  # the remote error, shown in place
        failure = page.wait_for_selector(f"{CARD.format('fail')} .cr-outcome.cr-error")
        assert failure is not None
        assert failure.inner_text().startswith("DummyFault: on purpose")
        assert "Traceback" in (page.text_content(f"{CARD.format('fail')} .cr-traceback") or "")

        page.wait_for_selector('#journal tr[data-command="fail"]', timeout=TIMEOUT_MS)
        row = page.inner_text('#journal tr[data-command="set_offset"]')
        assert "offset=2.5" in row and "ok" in row
        page.screenshot(path=str(artifacts_dir() / "device-operator.png"), full_page=True)

        page.click("nav button.link")  # log out
        # Both the button and the socket closed for the ended session send the page to
        # the login page; whichever navigation wins, the login form is where it ends.
        expect(page).to_have_url(re.compile(r"/login(\?.*)?$"), timeout=TIMEOUT_MS)
        expect(page.locator("#username")).to_be_visible(timeout=TIMEOUT_MS)
        page.goto(f"{panel_url}/device/dummy")
        page.wait_for_url("**/login?next=*")
    finally:
        page.close()
    assert errors == []


def test_a_viewer_sees_the_forms_but_cannot_command(
    browser: Browser, panel_url: str, lab: tuple[ControlServer, ControlServer]
) -> None:
    dummy, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _log_in(page, panel_url, "vera")
        assert "vera (viewer)" in page.inner_text("nav")
        assert page.get_attribute("#commands-fieldset", "disabled") is not None
        assert page.is_disabled(f"{CARD.format('set_offset')} button.cr-submit")
        assert page.is_disabled(f'{CARD.format("set_offset")} [name="offset"]')
        note = page.inner_text("#commands-note")
        assert "vera (viewer)" in note and "needs the operator role" in note
        status = page.evaluate(  # going around the disabled form: the panel refuses
            "() => import('/static/app.js').then((app) => app.api('/api/device/dummy/command',"
            " {method: 'POST', body: {command: 'set_offset', args: {offset: 7}}}))"
            ".then(() => 200, e => e.status)"
        )
        assert status == 403
        assert _offset(dummy) == 0.0
        page.screenshot(path=str(artifacts_dir() / "device-viewer.png"), full_page=True)
    finally:
        page.close()
    assert errors == []


def test_a_device_that_goes_down_has_its_forms_disabled_and_a_forced_command_fails_fast(
    browser: Browser, panel_url: str, lab: tuple[ControlServer, ControlServer]
) -> None:
    dummy, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _log_in(page, panel_url, "otto")
        card = CARD.format("set_offset")
        expect(page.locator(f"{card} button.cr-submit")).to_be_enabled()
        dummy.stop()  # the server is gone: the panel's discovery sees it within a period
        expect(page.locator("#device-light")).to_have_attribute("aria-label", "down")
        expect(page.locator(f"{card} button.cr-submit")).to_be_disabled()  # in its fieldset
        expect(page.locator(f'{card} [name="offset"]')).to_be_disabled()
        expect(page.locator("#commands-note")).to_contain_text(
            "dummy is down: its commands are off until it answers again"
        )
        # A command sent anyway (a stale tab, a script) is told so at once, in a sentence.
        answer = page.evaluate(
            """async () => {
                const { api } = await import('/static/app.js');
                const body = { command: 'set_offset', args: { offset: 1 }, timeout_s: 30 };
                const started = performance.now();
                const answer = await api('/api/device/dummy/command', { method: 'POST', body });
                return { ...answer, took_s: (performance.now() - started) / 1000 };
            }"""
        )
        assert answer["ok"] is False
        assert answer["error"]["type"] == "ServerUnavailable"
        assert answer["error"]["message"] == "dummy is down or unreachable: no answer within 1 s"
        assert answer["took_s"] < 15  # the welcome's 1 s, not the command's 30 s (bounded)
        page.screenshot(path=str(artifacts_dir() / "device-down.png"), full_page=True)
    finally:
        page.close()
