"""The pages of the panel: one module each, registered in :data:`controlroom.web.app.PAGES`.

A page module exposes ``page = Page(...)``: its name, title, URL, its own
stylesheets, and an ``APIRouter`` holding its routes -- the HTML shell (served
with :func:`html_shell`) and its JSON API under ``/api/<name>/...``. Its
``static/<name>.html`` (the inside of ``<main>``) and ``static/<name>.js`` (an ES
module importing ``static/app.js``) ship in ``controlroom/web/static``; every
page shares the rest of its HTML, ``static/page.html``. See the package
docstring of :mod:`controlroom.web` for the whole recipe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from controlroom.web.errors import WebError
from controlroom.web.security import session_of

STATIC_PACKAGE = "controlroom.web"
STATIC_DIR = "static"
SHELL = "page.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*\.(html|js|css|svg|png|ico)$")


@dataclass(frozen=True)
class Page:
    """One page: listed in the nav bar (when ``nav``, and ``shown(context)`` if given) in
    ``order``; ``shown`` gets the app's :class:`~controlroom.web.context.WebContext`."""

    name: str  # also the name of its static files: static/<name>.html, static/<name>.js
    title: str
    path: str  # URL of its HTML shell
    router: APIRouter
    nav: bool = True
    order: int = 100
    styles: tuple[str, ...] = ()  # stylesheets of static/ it needs besides style.css
    shown: Callable[[Any], bool] | None = None  # e.g. only while the panel knows its device

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "title": self.title, "path": self.path}


def read_asset(name: str) -> bytes:
    """A file of ``controlroom/web/static`` (works from a wheel: importlib.resources)."""
    if not _ASSET_NAME.match(name):
        raise WebError(f"no static file {name!r}")
    resource = resources.files(STATIC_PACKAGE).joinpath(STATIC_DIR, name)
    if not resource.is_file():
        raise WebError(f"no static file {name!r}")
    return resource.read_bytes()


def content_type(name: str) -> str:
    suffix = name[name.rfind(".") :]
    return CONTENT_TYPES.get(suffix, "application/octet-stream")


def asset_response(name: str) -> Response:
    return Response(read_asset(name), media_type=content_type(name))


def html_shell(request: Request, page: Page) -> Response:
    """The page's HTML; a visitor without a session is sent to the login page."""
    if session_of(request) is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return Response(page_html(page), media_type=content_type(SHELL))


def page_html(page: Page) -> str:
    """``static/<name>.html`` inside the shell every page shares, which loads the page's
    stylesheets and its module ``static/<name>.js``."""
    styles = "".join(f'\n  <link rel="stylesheet" href="/static/{s}">' for s in page.styles)
    return Template(read_asset(SHELL).decode()).substitute(
        title=escape(page.title),
        styles=styles,
        name=page.name,
        main=read_asset(f"{page.name}.html").decode(),
    )
