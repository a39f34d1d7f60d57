"""The Logs page (``/logs``): the central log records, the last N first, then live.

How records reach the panel: the log manager publishes every record it
writes on its PUB socket, topic ``log/<server>/logman`` (body: the record,
see :mod:`controlroom.services.logs.records`). The panel's feed follows the
log manager like every other server (it is a core service of the Settings, or
registered), so records enter the hub as they are written and a page follows
them with the topic prefix ``log/`` (``log/<server>/`` for one server). The
hub keeps only the latest record per server, and each page at most its
client queue (``web.client_queue``): a page that falls behind gets a snapshot,
and this page answers a snapshot by asking for the last records again, so it
never shows a gap.

``/api/logs`` gives the last records from the log manager's files (its
``tail`` command), with the same filters as ``controlroom logs tail``: a
least level and a server glob. The page applies the same filters to the
live records.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from controlroom.services.logs.records import LEVELS
from controlroom.web.calls import ask
from controlroom.web.context import Context
from controlroom.web.pages import Page, html_shell
from controlroom.web.security import Viewer

LOGMAN = "logman"
LOG_TOPIC = "log/"  # what the page follows: log/<server>/logman
MAX_RECORDS = 2000  # one answer; the page keeps at most this many too

router = APIRouter()


@router.get("/logs", include_in_schema=False)
def logs_page(request: Request) -> Response:
    return html_shell(request, page)


@router.get("/api/logs")
def last_records(
    context: Context,
    session: Viewer,
    n: int = Query(200, ge=0, le=MAX_RECORDS),
    level: str | None = None,
    server: str | None = None,
) -> dict[str, Any]:
    """``{records, levels, servers, topic}``: the last ``n`` records (oldest first) at
    ``level`` or above, of servers matching the glob ``server``; the level names; the
    servers the panel knows; the hub topic prefix live records come on."""
    wanted = (level or "").strip().upper() or None
    if wanted is not None and wanted not in LEVELS:
        raise HTTPException(
            status_code=422, detail=f"unknown level {level!r} (known: {', '.join(LEVELS)})"
        )
    glob = (server or "").strip() or None
    records = ask(context, LOGMAN, "tail", n, wanted, glob, session=session)
    return {
        "records": records,
        "levels": LEVELS,
        "servers": sorted(context.hub.servers()),
        "topic": LOG_TOPIC,
    }


page = Page("logs", "Logs", "/logs", router, order=60, styles=("records.css",))
