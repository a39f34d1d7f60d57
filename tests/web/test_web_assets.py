"""The pages and their assets come from the package, with no address outside the panel."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from fastapi.testclient import TestClient
from panel_helpers import login

from controlroom.telemetry import shipped_dictionary
from controlroom.web.app import PAGES
from controlroom.web.pages.overview import telemetry_meta

REFERENCE = re.compile(r'(?:src|href)="([^"]+)"')
# An absolute URL, or a protocol-relative one in an attribute, a string or a CSS url().
EXTERNAL = re.compile(r"https?://|wss?://[a-z0-9]|[\"'`(]//[^/]", re.IGNORECASE)


def _served(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return response.text


@pytest.mark.parametrize("path", ["/", "/login"])
def test_pages_and_everything_they_load_name_no_other_site(client: TestClient, path: str) -> None:
    login(client, "vera")
    html = _served(client, path)
    assets = [ref for ref in REFERENCE.findall(html)]
    assert "/static/app.js" in assets or path == "/login"
    assert "/static/style.css" in assets
    for asset in assets:
        assert asset.startswith("/static/"), f"{path} loads {asset} from elsewhere"
    for text in (html, *(_served(client, asset) for asset in assets)):
        assert not EXTERNAL.search(text), EXTERNAL.search(text)


def test_static_files_have_their_content_type_and_unknown_ones_are_404(client: TestClient) -> None:
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/nothing.js").status_code == 404
    assert client.get("/static/..%2Fapp.py").status_code == 404


def test_every_page_of_the_nav_has_its_shell_in_the_package() -> None:
    static = resources.files("controlroom.web").joinpath("static")
    for page in PAGES:
        assert static.joinpath(f"{page.name}.html").is_file(), page.name


def test_the_nav_lists_the_pages(client: TestClient) -> None:
    login(client, "vera")
    pages = client.get("/api/pages").json()
    assert pages[0] == {"name": "overview", "title": "Overview", "path": "/"}
    assert all(p["name"] != "login" for p in pages)


def test_the_overview_knows_units_limits_and_raw_names(client: TestClient) -> None:
    assert client.get("/api/overview").status_code == 401
    login(client, "vera")
    meta = client.get("/api/overview").json()
    assert meta["site"] == "LAB"
    assert meta["parameters"]["TEMPCTL_TEMP_A"] == {
        "unit": "K",
        "origin": "TEMPCTL",
        "description": "Sample stage temperature (input A)",
        "ops": [70.0, 200.0],
        "nonops": [60.0, 320.0],
    }
    assert meta["aliases"]["DUMMY"]["DUMMY_VALUE"] == "DUMMY_TEMP"
    assert telemetry_meta(shipped_dictionary())["parameters"]["TEMPCTL_RAMPING_1"]["ops"] is None
