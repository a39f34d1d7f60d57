"""The Setups and Logs pages in real Chromium: view a Setup as a tree, diff two, load one;
see a record from a test logger appear live."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from e2e_helpers import artifacts_dir, serving

from controlroom.device.proxy import make_proxy
from controlroom.rpc import ControlServer
from controlroom.rpc.loghandler import LogHandler
from controlroom.services.confman import server as confman
from controlroom.services.logs import server as logman
from controlroom.testing.waiting import wait_until
from controlroom.web import create_app
from controlroom.web.discovery import StaticDiscovery, Target
from controlroom.web.sessions import hash_password

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ANY_PORT = "tcp://127.0.0.1:0"
PASSWORD = "operator-pw"
TIMEOUT_MS = 15_000
HEXAPOD = {"gse": {"hexapod": {"ID": 42, "name": "PUNA"}}, "sut": {"mass_kg": 12.5}}


def _settings(tmp_path: Path, name: str) -> dict[str, Any]:
    return {
        "site": "LAB",
        "services": {name: {"commands": ANY_PORT, "publish": ANY_PORT, "records": ANY_PORT}},
        "locations": {where: str(tmp_path / where) for where in ("conf_repo", "data", "state")},
    }


@pytest.fixture
def confman_server(tmp_path: Path) -> Iterator[ControlServer]:
    """The configuration manager with Setups 1 and 2, Setup 1 loaded."""
    server = confman.build_server(_settings(tmp_path, "confman"))
    server.start()
    try:
        proxy: Any = make_proxy(confman.ConfigurationManager, server.endpoint, timeout=10.0)
        with proxy:
            proxy.submit_setup(HEXAPOD, "hexapod installed")
            edited = copy.deepcopy(HEXAPOD)
            edited["gse"]["hexapod"]["ID"] = 43
            proxy.submit_setup(edited, "new hexapod", 1)
            proxy.load_setup(1)
        yield server
    finally:
        server.stop()


@pytest.fixture
def logman_server(tmp_path: Path) -> Iterator[tuple[ControlServer, logman.LogManager]]:
    settings = _settings(tmp_path, "logman")
    manager = logman.build_manager(settings, directory=tmp_path / "logs")
    server = logman.build_server(settings, manager)
    server.start()
    try:
        yield server, manager
    finally:
        server.stop()


@pytest.fixture
def test_logger(
    logman_server: tuple[ControlServer, logman.LogManager],
) -> Iterator[logging.Logger]:
    """A logger outside the logger tree, sending as server ``e2e``."""
    log = logging.Logger("test.e2e.logs", logging.DEBUG)
    handler = LogHandler(logman_server[1].records_endpoint, server="e2e")
    log.addHandler(handler)
    yield log
    log.removeHandler(handler)
    handler.close()


@pytest.fixture
def panel(
    confman_server: ControlServer, logman_server: tuple[ControlServer, logman.LogManager]
) -> Iterator[tuple[str, Any]]:
    """(URL ending in /, app) of a panel following confman and logman."""
    servers = {"confman": confman_server, "logman": logman_server[0]}
    settings = {
        "site": "LAB",
        "services": {
            name: {"commands": s.endpoint, "publish": s.pub_endpoint} for name, s in servers.items()
        },
        "web": {
            "users": {"otto": {"password_hash": hash_password(PASSWORD), "role": "operator"}},
            "discover_every_s": 0.5,
        },
    }
    targets = {n: Target(n, "service", s.endpoint, s.pub_endpoint) for n, s in servers.items()}
    app = create_app(settings, discovery=StaticDiscovery(targets))
    with serving(app) as url:
        yield url, app


def _log_in(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_url("**/login?next=*")
    page.fill("#username", "otto")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url)
    page.wait_for_selector(".live-state.live", timeout=TIMEOUT_MS)


def _setups(page: Page, url: str) -> None:
    _log_in(page, f"{url}setups")
    page.wait_for_selector('tr.current[data-id="1"]', timeout=TIMEOUT_MS)
    page.click('tr[data-id="1"] button.view')
    leaf = page.wait_for_selector('#tree .leaf[data-path="gse.hexapod.ID"]', timeout=TIMEOUT_MS)
    assert leaf is not None and leaf.inner_text() == "ID: 42"
    page.click('#tree details[data-path="gse"] > summary')  # folds the branch away
    assert not page.is_visible('#tree .leaf[data-path="gse.hexapod.ID"]')
    page.select_option("#diff-a", "1")
    page.select_option("#diff-b", "2")
    page.click("#diff-go")
    change = page.wait_for_selector('table.changes tr[data-path="gse.hexapod.ID"]')
    assert change is not None and "42" in change.inner_text() and "43" in change.inner_text()
    assert page.locator("pre.unified .add").first.inner_text() == "+    ID: 43"
    page.screenshot(path=str(artifacts_dir() / "setups.png"), full_page=True)
    assert not page.is_visible("#confirm")
    page.click('tr[data-id="2"] button.load')
    assert "Load Setup 2 (new hexapod)" in page.inner_text("#confirm")
    page.click("#confirm-load")
    page.wait_for_selector('tr.current[data-id="2"]', timeout=TIMEOUT_MS)
    assert page.inner_text("#current-setup") == "2"


def test_setups_tree_diff_and_load_then_a_log_record_live(
    browser: Browser, panel: tuple[str, Any], test_logger: logging.Logger
) -> None:
    url, app = panel
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _setups(page, url)
        page.goto(f"{url}logs")
        page.wait_for_selector(".live-state.live", timeout=TIMEOUT_MS)
        hub = app.state.web.hub
        # Records reach the page through the hub once the feed follows logman's PUB socket.
        assert wait_until(lambda: hub.latest("status/logman") is not None, 10.0)
        test_logger.warning("valve V3 stuck at %d %%", 40)
        row = page.wait_for_selector(
            'tr[data-server="e2e"][data-level="WARNING"]', timeout=TIMEOUT_MS
        )
        assert row is not None and "valve V3 stuck at 40 %" in row.inner_text()
        page.screenshot(path=str(artifacts_dir() / "logs.png"), full_page=True)
        page.select_option("#level", "ERROR")
        page.wait_for_selector('tr[data-server="e2e"]', state="detached", timeout=TIMEOUT_MS)
        test_logger.error("pump P1 tripped")
        error = page.wait_for_selector('tr[data-level="ERROR"]', timeout=TIMEOUT_MS)
        assert error is not None and "pump P1 tripped" in error.inner_text()
    finally:
        page.close()
    assert errors == []
