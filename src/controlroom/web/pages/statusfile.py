"""The watched status file: in the nav bar of every page, in full at ``/statusfile``.

* ``GET /statusfile`` -- the page with the whole file, its fields and the acknowledgement
  (not in the nav: the nav bar's status links to it);
* ``GET /api/statusfile`` -- what topic ``statusfile/main`` carries (see
  :mod:`controlroom.web.statusdesk`); every page's WebSocket follows that topic and
  the nav bar draws it (both in ``static/app.js``);
* ``POST /api/statusfile/acknowledge`` ``{"sequence": N}`` (operators) -- writes the
  acknowledgement of reading ``N`` to the accept file with the user's name; 409 when
  the status changed since (or there is nothing to acknowledge).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from controlroom.web.labpanel import LabPanel, lab_lifespan, lab_panel
from controlroom.web.pages import Page, html_shell
from controlroom.web.security import Operator, Viewer
from controlroom.web.statusdesk import StatusFileRefused

router = APIRouter(lifespan=lab_lifespan)
Lab = Annotated[LabPanel, Depends(lab_panel)]


class AcknowledgeRequest(BaseModel):
    # The reading the operator saw: a status that changed meanwhile is not acknowledged blind.
    sequence: int | None = Field(default=None, ge=1)


@router.get("/statusfile", include_in_schema=False)
def status_file_page(request: Request) -> Response:
    return html_shell(request, page)


@router.get("/api/statusfile")
def status_file(lab: Lab, _: Viewer) -> dict[str, Any]:
    return lab.status.describe()


@router.post("/api/statusfile/acknowledge")
def acknowledge(body: AcknowledgeRequest, lab: Lab, session: Operator) -> dict[str, Any]:
    try:
        lab.status.acknowledge(session.user, body.sequence)
    except StatusFileRefused as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return lab.status.describe()


page = Page("statusfile", "Status file", "/statusfile", router, nav=False)
