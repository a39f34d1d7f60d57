"""The pages' scripts are ES modules: each page is one module in the shared shell, and the
shared pieces come from one module, static/app.js, that the page modules import."""

from __future__ import annotations

import re
from importlib import resources

from fastapi.testclient import TestClient
from panel_helpers import login
from test_web_assets import EXTERNAL

from controlroom.web.app import PAGES
from controlroom.web.pages import SHELL

SHARED = "app.js"
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL)
ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')
# `import ... from "x";` and `export ... from "x";`, over several lines too.
IMPORT = re.compile(r'^(?:import|export)\b[^;"]*?\bfrom\s+"([^"]+)";', re.MULTILINE)
SHELLED = [p for p in PAGES if p.name != "login"]


def _scripts(html: str) -> list[tuple[dict[str, str], str]]:
    return [(dict(ATTRIBUTE.findall(attrs)), body) for attrs, body in SCRIPT.findall(html)]


def _static(name: str) -> str:
    return resources.files("controlroom.web").joinpath("static", name).read_text()


def _imports(module: str) -> list[str]:
    return IMPORT.findall(_static(module))


def _reached(start: str) -> set[str]:
    """``start`` and every module it imports, directly or not."""
    reached: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(spec.removeprefix("./") for spec in _imports(module))
    return reached


def test_every_page_is_its_one_module_inside_the_shared_shell(client: TestClient) -> None:
    login(client, "vera")
    for page in SHELLED:
        html = client.get(page.path).text
        assert _scripts(html) == [({"src": f"/static/{page.name}.js", "type": "module"}, "")]
        assert '<link rel="modulepreload" href="/static/app.js">' in html
        assert f"<title>controlroom · {page.title}</title>" in html
        for style in page.styles:
            assert f'<link rel="stylesheet" href="/static/{style}">' in html
        assert html.count('<nav id="nav"></nav>') == 1 and html.count("<main>") == 1
    assert _scripts(client.get("/login").text) == [
        ({"src": "/static/login.js", "type": "module"}, "")
    ]


def test_the_shell_fills_every_placeholder() -> None:
    html = _static(SHELL)
    assert set(re.findall(r"\$(\w+)", html)) == {"title", "styles", "name", "main"}


def test_modules_import_modules_of_the_package_by_relative_path() -> None:
    static = resources.files("controlroom.web").joinpath("static")
    modules = sorted(f.name for f in static.iterdir() if f.name.endswith(".js"))
    for module in modules:
        for spec in _imports(module):
            assert re.fullmatch(r"\./[a-z0-9_-]+\.js", spec), f"{module} imports {spec}"
            assert static.joinpath(spec.removeprefix("./")).is_file(), f"{module}: no {spec}"
        assert "CR." not in _static(module), f"{module} uses the old global"
    used = set().union(*(_reached(f"{p.name}.js") for p in PAGES))
    assert used == set(modules), f"no page imports {set(modules) - used}"


def test_the_shared_module_is_the_one_every_page_module_imports() -> None:
    for page in SHELLED:
        assert f"./{SHARED}" in _imports(f"{page.name}.js"), page.name
    assert _imports(SHARED) == []  # the bottom of the graph: no cycle through it


def test_every_module_is_javascript_and_names_no_other_site(client: TestClient) -> None:
    for module in set().union(*(_reached(f"{p.name}.js") for p in PAGES)):
        response = client.get(f"/static/{module}")
        assert response.status_code == 200, module
        assert response.headers["content-type"].startswith("text/javascript"), module
        assert not EXTERNAL.search(response.text), (module, EXTERNAL.search(response.text))
