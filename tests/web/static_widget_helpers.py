"""Real Chromium with the panel's static widgets loaded, for the widget tests.

The files are served to the page straight from the source tree through
Playwright routing, so these tests need no web app and no port.
"""

from __future__ import annotations

import importlib.util
import mimetypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "controlroom" / "web" / "static"
CHROMIUM = Path("/usr/bin/chromium")
ORIGIN = "http://widgets.test"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="/static/widgets.css"></head>
<body>
<div id="form"></div>
<canvas id="plot" class="cr-plot" style="width: 600px; height: 300px"></canvas>
<script type="module">
import * as forms from "/static/forms.js";
import { TimePlot } from "/static/plot.js";
window.widgets = { ...forms, TimePlot };
</script>
</body></html>
"""


def artifacts() -> Path:
    default = ROOT / "build" / "artifacts"
    path = Path(os.environ.get("CONTROLROOM_ARTIFACTS", default)) / "widgets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed"
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    """A fresh browser: skipped when none is installed, except under CI where that fails."""
    reason = missing_browser()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def _serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN).split("?")[0]
    if path == "/":
        route.fulfill(status=200, content_type="text/html", body=PAGE)
        return
    name = path.removeprefix("/static/")
    file = STATIC / name
    if not path.startswith("/static/") or "/" in name or not file.is_file():
        route.fulfill(status=404, body=f"no such file: {path}")
        return
    kind = "text/javascript" if file.suffix == ".js" else mimetypes.guess_type(file.name)[0]
    route.fulfill(status=200, content_type=kind or "text/plain", body=file.read_bytes())


def open_page(browser: Browser, scale: float = 1) -> Page:
    """The widget page, loaded with `window.widgets` = forms.js exports plus TimePlot."""
    page = browser.new_page(device_scale_factor=scale, viewport={"width": 900, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route(f"{ORIGIN}/**", _serve)
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("() => window.widgets !== undefined")
    assert not errors, errors
    return page
