"""The tasks (``/tasks``): the current Setup's ``@task`` functions as buttons, runs streamed live.

API (viewers read, operators run):

* ``GET /api/tasks`` -- ``{groups, problems, setup_id, runs, busy}``;
* ``POST /api/tasks/run`` ``{"task": name, "arguments": {...}}`` -- starts a
  run: 202 with the run; 404 for an unknown task, 422 ``{detail, argument}``
  for a bad argument, 409 when a device it uses is busy;
* ``GET /api/tasks/runs`` and ``GET /api/tasks/runs/<id>`` -- runs as data;
* ``GET /api/tasks/runs/<id>/output?after=N`` -- ``{lines, next, missed, closed}``.

Live, over the page's WebSocket: ``tasks/catalog``, ``tasks/runs`` and
``task/<run id>`` (the output as it is written); see :mod:`controlroom.web.taskdesk`.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from controlroom.obs.taskargs import TaskArgumentError
from controlroom.web.labpanel import LabPanel, lab_lifespan, lab_panel
from controlroom.web.pages import Page, html_shell
from controlroom.web.security import Operator, Viewer
from controlroom.web.taskrunner import DeviceBusy, TaskRun, UnknownTask

log = logging.getLogger(__name__)
router = APIRouter(lifespan=lab_lifespan)
Lab = Annotated[LabPanel, Depends(lab_panel)]


class RunRequest(BaseModel):
    task: str = Field(min_length=1, max_length=500)
    arguments: dict[str, Any] = Field(default_factory=dict)


@router.get("/tasks", include_in_schema=False)
def tasks_page(request: Request) -> Response:
    return html_shell(request, page)


@router.get("/api/tasks")
def tasks(lab: Lab, _: Viewer) -> dict[str, Any]:
    """The buttons by group, problems with the Setup's task modules, recent runs, busy devices."""
    return {**lab.tasks.catalog(), **lab.tasks.runs()}


@router.post("/api/tasks/run", status_code=202)
def run_task(body: RunRequest, lab: Lab, session: Operator) -> Response:
    """Start a run of ``task`` with ``arguments`` (JSON, coerced as the task's hints say)."""
    try:
        run = lab.tasks.submit(body.task, body.arguments, session.user, session.role)
    except TaskArgumentError as exc:
        return JSONResponse({"detail": str(exc), "argument": exc.argument}, status_code=422)
    except UnknownTask as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except DeviceBusy as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    log.info("%s started task %s (run %d)", session.user, run.spec.name, run.id)
    return JSONResponse(run.as_dict(), status_code=202)


@router.get("/api/tasks/runs")
def runs(lab: Lab, _: Viewer) -> list[dict[str, Any]]:
    """Every run kept, newest first."""
    return [run.as_dict() for run in lab.tasks.runner.runs()]


@router.get("/api/tasks/runs/{run_id}")
def run_of(run_id: int, lab: Lab, _: Viewer) -> dict[str, Any]:
    return _run(lab, run_id).as_dict()


@router.get("/api/tasks/runs/{run_id}/output")
def output(
    run_id: int, lab: Lab, _: Viewer, after: Annotated[int, Query(ge=0)] = 0
) -> dict[str, Any]:
    """The run's lines numbered above ``after`` (``missed``: dropped from its bounded buffer)."""
    chunk = _run(lab, run_id).output.read(after)
    return {
        "run": run_id,
        "lines": [line.as_dict() for line in chunk.lines],
        "next": chunk.next,
        "missed": chunk.missed,
        "closed": chunk.closed,
    }


def _run(lab: LabPanel, run_id: int) -> TaskRun:
    try:
        return lab.tasks.runner.run(run_id)
    except UnknownTask as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


page = Page("tasks", "Tasks", "/tasks", router, order=40, styles=("widgets.css", "tasks.css"))
