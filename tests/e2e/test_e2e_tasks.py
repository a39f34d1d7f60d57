"""Tasks and the watched status file in real Chromium, with the demo Setup's tasks and files.

Run a demo task from its form against a real dummy control server and watch
its output stream in and its result appear; change the status file and see
the nav-bar banner change on two open pages; acknowledge it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from e2e_helpers import artifacts_dir, serving

from controlroom.bridges import AcceptFile
from controlroom.config.yamlfile import read_mapping
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer
from controlroom.web import create_app
from controlroom.web.discovery import StaticDiscovery, Target
from controlroom.web.labpanel import configure_lab
from controlroom.web.sessions import hash_password

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORD = "operator-pw"
TIMEOUT_MS = 15_000
READ_DUMMY = '#groups button[data-task="controlroom.obs.demo_tasks.read_dummy"]'
BANNER = "#statusfile .sf-value"


@pytest.fixture
def dummy() -> Iterator[ControlServer]:
    server = ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=0.2)
    server.start()
    yield server
    server.stop()


def demo_setup() -> dict[str, Any]:
    packaged = resources.files("controlroom.config").joinpath("setups/demo.yaml")
    with resources.as_file(packaged) as path:
        return read_mapping(Path(path))


@pytest.fixture
def panel_url(dummy: ControlServer, tmp_path: Path) -> Iterator[str]:
    settings = {
        "site": "LAB",
        "services": {},
        "devices": {"dummy": {"commands": dummy.endpoint}},
        "locations": {"data": str(tmp_path)},
        "web": {
            "users": {"otto": {"password_hash": hash_password(PASSWORD), "role": "operator"}},
            "discover_every_s": 0.5,
        },
    }
    target = Target("dummy", "device", dummy.endpoint, dummy.pub_endpoint)
    app = create_app(settings, discovery=StaticDiscovery({"dummy": target}))
    setup = demo_setup()
    configure_lab(app, fetch_setup=lambda: setup)
    with serving(app) as url:
        yield url


def log_in(page: Page, url: str) -> None:
    page.goto(f"{url}tasks")
    page.wait_for_url("**/login?next=*")
    page.fill("#username", "otto")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}tasks")
    page.wait_for_selector(".live-state.live", timeout=TIMEOUT_MS)


def text_is(page: Page, selector: str, text: str) -> None:
    page.wait_for_function(
        "([sel, text]) => { const n = document.querySelector(sel);"
        " return n && n.textContent.trim() === text; }",
        arg=[selector, text],
        timeout=TIMEOUT_MS,
    )


def output_includes(page: Page, text: str) -> None:
    page.wait_for_function(
        "(text) => document.querySelector('#run-output').textContent.includes(text)",
        arg=text,
        timeout=TIMEOUT_MS,
    )


def run_read_dummy_from_its_form(page: Page) -> None:
    page.click(READ_DUMMY, timeout=TIMEOUT_MS)
    form = page.wait_for_selector("#form-area form.cr-form", timeout=TIMEOUT_MS)
    assert form is not None
    assert page.text_content("#form-title") == "Read the dummy"
    page.fill("#form-area input[name=samples]", "2.5")
    page.click("#form-area button.cr-submit")
    error = page.wait_for_selector('[data-param="samples"] .cr-field-error', timeout=TIMEOUT_MS)
    assert error is not None
    assert "not an integer" in error.inner_text()  # checked in the page, nothing sent
    page.fill("#form-area input[name=samples]", "3")
    page.select_option("#form-area select[name=statistic]", label="MAX (max)")
    page.click("#form-area button.cr-submit")
    text_is(page, "#run-state", "done")
    output_includes(page, "Read the dummy done")  # the runner's last line


def test_a_task_runs_from_its_form_and_the_status_file_reaches_every_page(
    browser: Browser, panel_url: str, tmp_path: Path
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    other = None
    try:
        log_in(page, panel_url)
        run_read_dummy_from_its_form(page)
        output = page.inner_text("#run-output")
        assert "reading 3:" in output
        assert "max:" in output
        assert "Read the dummy done after" in output
        float(page.inner_text("#run-outcome .run-result"))  # the result: a temperature
        assert page.inner_text('#history tr[data-run="1"] .run-state') == "done"
        assert "run 1 started" in page.inner_text("#form-area .cr-outcome")
        page.screenshot(path=str(artifacts_dir() / "tasks.png"), full_page=True)
        page.click('#groups button.immediate[data-task$=".ping_servers"]')  # no form: runs
        text_is(page, "#run-id", "2")
        text_is(page, "#run-state", "done")
        output_includes(page, "Ping every server done")
        assert re.search(r"dummy\s+up", page.inner_text("#run-output"))
        assert '"dummy":' in page.inner_text("#run-outcome .run-result")

        other = browser.new_page()  # a page of its own browser context: it logs in too
        other.on("pageerror", lambda exc: errors.append(str(exc)))
        log_in(other, panel_url)
        other.goto(panel_url)
        other.wait_for_selector(".live-state.live", timeout=TIMEOUT_MS)
        status_file = tmp_path / "demo" / "status.txt"
        temporary = status_file.with_name(".status.tmp")
        temporary.write_text("cryostat cold\nset_by: e2e\n")
        os.replace(temporary, status_file)
        for shown in (page, other):
            text_is(shown, BANNER, "cryostat cold")
            assert shown.inner_text("#statusfile .sf-ack-button") == "Acknowledge"
        other.click("#statusfile .sf-ack-button")
        for shown in (page, other):
            shown.wait_for_selector("#statusfile .sf-ack.acked", timeout=TIMEOUT_MS)
            assert "otto" in shown.inner_text("#statusfile .sf-ack.acked")
        ack = AcceptFile(tmp_path / "demo" / "accept.txt").read()
        assert ack is not None
        assert (ack.value, ack.who) == ("cryostat cold", "otto")
        other.screenshot(path=str(artifacts_dir() / "statusfile.png"), full_page=True)
        other.click(BANNER)  # the whole file, its fields and the acknowledgement
        other.wait_for_url(f"{panel_url}statusfile")
        text_is(other, "#ack-who", "otto")
        assert other.inner_text("#sf-value") == "cryostat cold"
        assert other.inner_text("#sf-fields") == "set_by\te2e"
        other.screenshot(path=str(artifacts_dir() / "statusfile-page.png"), full_page=True)
    finally:
        page.close()
        if other is not None:
            other.close()
    assert errors == []
