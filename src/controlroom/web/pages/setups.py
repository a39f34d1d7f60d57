"""The Setups page (``/setups``): list the versioned Setups, view one, diff two, load one.

Everything is asked from the configuration manager (see :mod:`..calls`):
``list_setups``, ``get_setup``, ``diff_setups`` for anyone logged in,
``load_setup`` for operators (CSRF checked by the middleware, the page asks
for a confirmation first). The current Setup id reaches every open page live
from confman's own status (``status/confman``), and a load is announced by
its ``new_setup`` event, so the page follows both topics.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from controlroom.web.calls import CONFMAN, ask, ask_in_context
from controlroom.web.context import Context
from controlroom.web.pages import Page, html_shell
from controlroom.web.security import Operator, Viewer

log = logging.getLogger(__name__)

LOAD_TIMEOUT_S = 30.0  # loading checks the whole Setup: more than a lookup

router = APIRouter()


@router.get("/setups", include_in_schema=False)
def setups_page(request: Request) -> Response:
    return html_shell(request, page)


@router.get("/api/setups")
def list_setups(context: Context, session: Viewer, site: str | None = None) -> dict[str, Any]:
    """``{site, current, obsid, setups: [{id, site, description, created, derived_from}]}``.

    ``current`` is the id of the current Setup (of confman's ``site``), or None;
    ``setups`` lists every Setup in the repository (of ``site`` when given), oldest first.
    """
    now, listed = ask_in_context(context, "list_setups", site, session=session)
    return {
        "site": now.get("site"),
        "current": now.get("setup_id"),
        "obsid": now.get("obsid"),
        "setups": listed,
    }


@router.get("/api/setups/diff")
def diff_setups(
    context: Context, session: Viewer, a: int, b: int, site: str | None = None
) -> dict[str, Any]:
    """What changed from Setup ``a`` to ``b``: ``{a, b, site, changes: [{path, change, a, b}],
    text}`` (``text``: a unified diff of the two as YAML)."""
    result: dict[str, Any] = ask(context, CONFMAN, "diff_setups", a, b, site, session=session)
    return result


@router.get("/api/setups/{setup_id}")
def get_setup(
    setup_id: int, context: Context, session: Viewer, site: str | None = None
) -> dict[str, Any]:
    """Setup ``setup_id`` (of ``site``, default confman's) with its ``_meta``."""
    setup: dict[str, Any] = ask(context, CONFMAN, "get_setup", setup_id, site, session=session)
    return setup


@router.post("/api/setups/{setup_id}/load")
def load_setup(setup_id: int, context: Context, session: Operator) -> dict[str, Any]:
    """Make Setup ``setup_id`` the current one: ``{setup_id, meta}``.

    Refused (409) while an observation runs: the Setup changes between observations.
    """
    loaded = ask(context, CONFMAN, "load_setup", setup_id, session=session, timeout=LOAD_TIMEOUT_S)
    log.info("%s loaded Setup %d from the web panel", session.user, setup_id)
    return {"setup_id": setup_id, "meta": loaded.get("_meta") if isinstance(loaded, dict) else None}


page = Page("setups", "Setups", "/setups", router, order=30, styles=("records.css",))
