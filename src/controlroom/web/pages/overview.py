"""The overview (``/``): every server with its status light, the last HK with units and
limit colours, the current Setup id and obsid, the latest events and limit crossings.

Live data comes over the page's WebSocket (topics ``server/``, ``status/``,
``hk/``, ``event/``); ``/api/overview`` gives what does not change while the
panel runs: the site and, from the telemetry dictionary, the unit and the
operational and non-operational limits of each parameter, so the page can
colour values as they arrive.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from controlroom.telemetry import Band, Parameter, TelemetryDictionary
from controlroom.web.context import Context
from controlroom.web.pages import Page, html_shell
from controlroom.web.security import Viewer

router = APIRouter()


@router.get("/", include_in_schema=False)
def overview_page(request: Request) -> Response:
    return html_shell(request, page)


@router.get("/api/overview")
def overview_meta(context: Context, _: Viewer) -> dict[str, Any]:
    """Site, telemetry metadata (units, limits) and the name translations for raw HK."""
    return {
        "site": str(context.settings.get("site", "")),
        **telemetry_meta(context.dictionary),
    }


def telemetry_meta(dictionary: TelemetryDictionary) -> dict[str, Any]:
    """``parameters``: canonical name → unit, description, limits; ``aliases``: origin →
    {original name → canonical name}, for servers that publish their raw HK."""
    parameters = {p.name: _describe(p) for p in dictionary}
    aliases: dict[str, dict[str, str]] = {}
    for p in dictionary:
        if p.original != p.name:
            aliases.setdefault(p.origin, {})[p.original] = p.name
    return {"parameters": parameters, "aliases": aliases}


def _describe(parameter: Parameter) -> dict[str, Any]:
    limits = parameter.limits
    return {
        "unit": parameter.unit,
        "origin": parameter.origin,
        "description": parameter.description,
        "ops": _band(limits.operational),
        "nonops": _band(limits.non_operational),
    }


def _band(band: Band) -> list[float | None] | None:
    return [band.low, band.high] if band.is_set else None


page = Page("overview", "Overview", "/", router, order=0)
