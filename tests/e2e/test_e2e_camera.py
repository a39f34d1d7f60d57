"""The camera page in real Chromium, on a real FEE simulator and DPU control server: it shows
the latest image and the mode; STANDBY pressed by an operator changes the mode shown; a
viewer's buttons are disabled."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from e2e_helpers import artifacts_dir, serving
from playwright.sync_api import expect

from controlroom.web import create_app
from controlroom.web.discovery import StaticDiscovery, Target
from controlroom.web.sessions import hash_password

_CAMERA_TESTS = Path(__file__).resolve().parents[1] / "devices" / "camera"
if str(_CAMERA_TESTS) not in sys.path:
    sys.path.append(str(_CAMERA_TESTS))  # camera_views: the served DPU
from camera_views import Camera, camera_server, take_images  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.integration
PASSWORDS = {"otto": "operator-pw", "vera": "viewer-pw"}
ROLES = {"otto": "operator", "vera": "viewer"}
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Camera]:
    with camera_server(tmp_path_factory.mktemp("camera")) as served:
        take_images(served, ccd=1)  # FULL_IMAGE, and CCD 1's first image stored
        yield served


@pytest.fixture(scope="module")
def panel_url(camera: Camera) -> Iterator[str]:
    users = {
        name: {"password_hash": hash_password(PASSWORDS[name]), "role": ROLES[name]}
        for name in PASSWORDS
    }
    settings = {"site": "LAB", "services": {}, "web": {"users": users, "discover_every_s": 0.5}}
    target = Target("dpu", "device", camera.server.endpoint, camera.server.pub_endpoint)
    app = create_app(settings, discovery=StaticDiscovery({"dpu": target}))
    with serving(app) as url:
        yield url.rstrip("/")


def _log_in(page: Page, url: str, user: str) -> None:
    page.goto(f"{url}/camera")
    page.wait_for_url("**/login?next=*")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url("**/camera")
    page.wait_for_selector(".live-state.live", timeout=TIMEOUT_MS)


def test_the_page_shows_the_image_and_standby_changes_the_mode(
    browser: Browser, panel_url: str, camera: Camera
) -> None:
    with camera.proxy() as proxy:
        proxy.set_mode("FULL_IMAGE")  # a test before may have left it in another mode
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _log_in(page, panel_url, "otto")
        assert "Camera" in page.inner_text("nav .pages")
        image = page.wait_for_selector("#camera-image[data-frame]", timeout=TIMEOUT_MS)
        assert image is not None and image.get_attribute("data-slot") == "1E"
        assert (image.get_attribute("src") or "").startswith("data:image/png;base64,")
        assert page.evaluate("document.getElementById('camera-image').naturalWidth") > 0
        expect(page.locator("#image-caption")).to_contain_text("CCD 1 side E")
        expect(page.locator("#mode")).to_have_text("FULL_IMAGE", timeout=TIMEOUT_MS)
        expect(page.locator("#processor")).to_contain_text("up, pid")
        assert page.inner_text("#error-flags") == "0 (none)"
        page.screenshot(path=str(artifacts_dir() / "camera-image.png"), full_page=True)

        page.click("#cmd-standby")
        expect(page.locator("#camera-result")).to_have_text("set_mode: done", timeout=TIMEOUT_MS)
        expect(page.locator("#mode")).to_have_text("STANDBY", timeout=TIMEOUT_MS)
        page.select_option("#side", "F")  # never read out here: the page says so
        expect(page.locator("#image-caption")).to_contain_text(
            "no stored image of CCD 1 side F yet", timeout=TIMEOUT_MS
        )
        expect(page.locator("#camera-image")).to_be_hidden()
        page.screenshot(path=str(artifacts_dir() / "camera-operator.png"), full_page=True)
    finally:
        page.close()
    assert errors == []


def test_a_viewer_sees_the_camera_but_no_enabled_button(browser: Browser, panel_url: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _log_in(page, panel_url, "vera")
        page.wait_for_selector("#camera-image[data-frame]", timeout=TIMEOUT_MS)
        for button in ("#cmd-standby", "#cmd-full-image", "#cmd-dump", "#cmd-clear-flags"):
            assert page.is_disabled(button), button
        note = page.inner_text("#camera-commands-note")
        assert "vera (viewer)" in note and "needs the operator role" in note
        expect(page.locator("#mode")).not_to_have_text("–", timeout=TIMEOUT_MS)  # live status
    finally:
        page.close()
