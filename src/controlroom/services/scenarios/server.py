"""The scenarios service as a control server: rules of the Setup acting on HK and events.

:func:`build_server` puts the parts together: the :class:`~.service.Scenarios`
commands, the :class:`~.evaluator.Evaluator` with its clock, the
:class:`~.firing.Firer` with the runner the program passes, the journal (to
the storage manager of the Settings unless told otherwise) and the
subscriber of :mod:`.streams` on every server's publish endpoint, found
again every ``refresh_s`` (:mod:`.discovery`).

The program that builds it chooses how firings run (see
:class:`~controlroom.services.setupdriven.Runner`): ``python -m controlroom.processes.service
scenarios`` (or ``controlroom scenarios run``) opens observations around
building blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Unpack

from controlroom.rpc import ControlServer, Proxy, RpcError
from controlroom.rpc.access import check_role
from controlroom.rpc.endpoints import ServerEndpoints, connectable
from controlroom.services.control import service_server
from controlroom.services.scenarios.discovery import PublishDirectory
from controlroom.services.scenarios.evaluator import Clock, Evaluator, Trigger
from controlroom.services.scenarios.firing import Firer, ObsidLookup
from controlroom.services.scenarios.journal import FiringJournal
from controlroom.services.scenarios.rules import DEMO_TASKS
from controlroom.services.scenarios.service import Scenarios
from controlroom.services.scenarios.streams import Callback, others, stream_subscriber
from controlroom.services.setupdriven import (
    FOLLOW_S,
    Runner,
    SetupFollower,
    allowed_packages,
    confman_proxy,
)
from controlroom.services.storage.options import sender_options, storage_endpoint
from controlroom.services.storage.sender import StorageSender

NAME = "scenarios"
REFRESH_S = 5.0  # how often the servers to follow are found again
OBSID_TIMEOUT_S = 1.0

log = logging.getLogger(__name__)

Observe = Callable[[str, Mapping[str, Any]], list[Trigger]]


def build_server(
    settings: Mapping[str, Any],
    *,
    runner: Runner,
    confman: str | None = None,
    storage: str | None = None,
    clock: Clock | None = None,
    follow_s: float = FOLLOW_S,
    refresh_s: float = REFRESH_S,
    **where: Unpack[ServerEndpoints],
) -> ControlServer:
    """The scenarios control server, on the Settings' endpoints unless given.

    ``storage``: the storage manager's command endpoint for the journal
    (default: the Settings'; ``""`` keeps firings in memory only).
    """
    proxy = confman_proxy(settings, confman)
    evaluator = Evaluator(clock) if clock is not None else Evaluator()
    journal = _journal(settings, storage)
    firer = Firer(
        evaluator,
        runner,
        journal,
        confman=proxy.endpoint,
        role=rules_role(settings),
        current_obsid=_obsid_at(proxy.endpoint),
    )
    streams = stream_subscriber(
        _firing(evaluator.observe_hk, firer), _firing(evaluator.observe_event, firer), ignore=NAME
    )
    allowed = allowed_packages(settings, NAME, DEMO_TASKS)
    scenarios = Scenarios(evaluator, firer, streams, proxy, allowed)
    server = service_server(settings, NAME, scenarios, **where)
    firer.notify = server.notify
    directory = PublishDirectory(settings)

    def refresh() -> None:
        streams.follow(others(directory.endpoints(scenarios.devices), NAME))

    SetupFollower(server, scenarios, follow_s).attach()
    server.tasks.schedule(refresh, every_s=refresh_s, name="find the servers")
    return server


def rules_role(settings: Mapping[str, Any]) -> str:
    """The role the rules' calls are checked against: ``services.scenarios.role`` (operator)."""
    entry = (settings.get("services") or {}).get(NAME) or {}
    return check_role(entry.get("role") or "operator")


def _journal(settings: Mapping[str, Any], storage: str | None) -> FiringJournal:
    journal = FiringJournal(NAME)
    target = storage_endpoint(settings) if storage is None else storage
    if target:
        options = sender_options(settings)
        journal.sender = StorageSender(
            connectable(target), NAME.upper(), context=journal.context, options=options
        )
    return journal


def _firing(observe: Observe, firer: Firer) -> Callback:
    """A stream callback: what ``observe`` says fires now, fired."""

    def handle(server: str, values: dict[str, Any]) -> None:
        for trigger in observe(server, values):
            firer.fire(trigger)

    return handle


def _obsid_at(confman: str) -> ObsidLookup:
    """Asks the configuration manager which observation runs now (a proxy per firing thread)."""

    def current_obsid() -> str | None:
        with Proxy(confman, name="confman", timeout=OBSID_TIMEOUT_S) as proxy:
            try:
                running = proxy.request("get_observation")
            except RpcError as exc:
                log.warning("cannot ask the configuration manager for the observation: %s", exc)
                return None
        obsid = running.get("obsid") if isinstance(running, Mapping) else None
        return str(obsid) if obsid else None

    return current_obsid
