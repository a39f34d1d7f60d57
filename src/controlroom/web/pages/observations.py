"""The Observations page (``/observations``): start, end, list, and what each one stored.

Observations come from the configuration manager (``list_observations``,
``get_observation``; operators ``start_observation`` / ``end_observation``);
what an observation stored comes from the storage manager: the command
journal entries tagged with its obsid, and, per HK parameter, the samples
stored while it ran (the storage manager answers HK by time range, and an
observation's rows are the ones stored between its start and end, since
servers tag rows with the obsid running at the time). The running obsid
reaches the page live from ``status/confman``; starts and ends from confman's
``observation_started`` / ``observation_ended`` events.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from controlroom.services.confman.observations import parse_obsid
from controlroom.services.storage.journal import JOURNAL
from controlroom.web.calls import CONFMAN, Call, ask, ask_in_context, connected
from controlroom.web.context import Context
from controlroom.web.pages import Page, html_shell
from controlroom.web.security import Operator, Viewer

log = logging.getLogger(__name__)

STORAGE = "storage"
JOURNAL_SHOWN = 500  # the last entries of an observation's journal
SAMPLES_COUNTED = 100_000  # per parameter; more is shown as "at least"
PARAMETERS_COUNTED = 500  # bounds one request to the storage manager
DESCRIPTION_CHARS = 500

router = APIRouter()


class StartRequest(BaseModel):
    description: str


@router.get("/observations", include_in_schema=False)
def observations_page(request: Request) -> Response:
    return html_shell(request, page)


@router.get("/api/observations")
def list_observations(
    context: Context, session: Viewer, limit: int = Query(50, ge=1, le=1000)
) -> dict[str, Any]:
    """``{site, setup_id, running, observations}``: the running obsid (or None) and the last
    ``limit`` observations ``{obsid, description, setup_id, started, ended}``, newest first."""
    now, listed = ask_in_context(context, "list_observations", limit, session=session)
    return {
        "site": now.get("site"),
        "setup_id": now.get("setup_id"),
        "running": now.get("obsid"),
        "observations": listed,
    }


@router.post("/api/observations/start")
def start_observation(body: StartRequest, context: Context, session: Operator) -> dict[str, Any]:
    """Start an observation described by ``description``: ``{obsid}``; 409 while one runs."""
    description = body.description.strip()
    if not description:
        raise HTTPException(status_code=422, detail="an observation needs a description")
    if len(description) > DESCRIPTION_CHARS:
        raise HTTPException(
            status_code=422, detail=f"a description has at most {DESCRIPTION_CHARS} characters"
        )
    obsid = ask(context, CONFMAN, "start_observation", description, session=session)
    log.info("%s started observation %s from the web panel", session.user, obsid)
    return {"obsid": obsid}


@router.post("/api/observations/end")
def end_observation(context: Context, session: Operator) -> dict[str, Any]:
    """End the running observation; returns it with its end time. 409 when none runs."""
    ended: dict[str, Any] = ask(context, CONFMAN, "end_observation", session=session)
    log.info("%s ended observation %s from the web panel", session.user, ended.get("obsid"))
    return ended


@router.get("/api/observations/{obsid}/data")
def stored_data(obsid: str, context: Context, session: Viewer) -> dict[str, Any]:
    """What observation ``obsid`` stored: ``{observation, journal: [...], housekeeping:
    [{origin, name, samples, complete, last}]}`` (journal: the last entries, oldest first)."""
    try:
        parse_obsid(obsid)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    observation = ask(context, CONFMAN, "get_observation", obsid, session=session)
    if observation is None:
        raise HTTPException(status_code=404, detail=f"confman knows no observation {obsid}")
    since = _seconds(observation["started"])
    until = _seconds(observation["ended"]) if observation.get("ended") else None
    with connected(context, STORAGE, session=session) as call:
        journal = call("journal", obsid, None, None, None, JOURNAL_SHOWN)
        housekeeping = _housekeeping(call, since, until)
    return {"observation": observation, "journal": journal, "housekeeping": housekeeping}


def _housekeeping(call: Call, since: float, until: float | None) -> list[dict[str, Any]]:
    """Per stored HK parameter with samples in ``[since, until)``: how many, and the last."""
    found: list[dict[str, Any]] = []
    origins: dict[str, list[str]] = call("origins")
    wanted = [(o, n) for o, names in sorted(origins.items()) if o != JOURNAL for n in names]
    for origin, name in wanted[:PARAMETERS_COUNTED]:
        series = call("query_housekeeping", name, since, until, origin, SAMPLES_COUNTED)
        values = series.get("values") or []
        if values:
            found.append(
                {
                    "origin": origin,
                    "name": name,
                    "unit": series.get("unit"),
                    "samples": len(values),
                    "complete": len(values) < SAMPLES_COUNTED,
                    "last": values[-1],
                }
            )
    return found


def _seconds(iso: str) -> float:
    moment = dt.datetime.fromisoformat(iso)
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


page = Page(
    "observations", "Observations", "/observations", router, order=50, styles=("records.css",)
)
