"""What a process attaches to the core services while it serves, and detaches after.

Every link is non-blocking and survives its service being down: records go to
the log manager, the registry learns where the server listens, metrics are
served over HTTP; a device's or a bridge's records are tagged with the running
observation, which a follower of the configuration manager tells (it gives
the rows sent to storage their context too). The log manager sends no records
to itself and the registry does not register with itself: a core service's
definition says which links it takes (:data:`SERVICE_LINKS`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Self

from controlroom.rpc import ControlServer
from controlroom.rpc.registration import attach_from_settings
from controlroom.services.logs.follow import install_from_settings
from controlroom.services.metrics import attach_metrics

if TYPE_CHECKING:
    from controlroom.rpc.follow import StatusFollower

CENTRAL_LOGS, REGISTRATION, METRICS = "central logs", "registration", "metrics"
JOURNAL = "journal"
SERVICE_LINKS = (CENTRAL_LOGS, REGISTRATION, METRICS, JOURNAL)

log = logging.getLogger(__name__)


class Links:
    """The links attached so far; :meth:`stop` detaches them in reverse order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stoppers: list[Callable[[], None]] = []

    def add(self, stop: Callable[[], None]) -> None:
        self._stoppers.append(stop)

    def stop(self) -> None:
        while self._stoppers:
            try:
                self._stoppers.pop()()
            except Exception:  # one failing stop must not skip the rest
                log.exception("%s: detaching a core service link failed", self.name)

    @contextlib.contextmanager
    def all_or_none(self) -> Iterator[Self]:
        """Attach in the ``with``; if one link fails, detach those attached before it."""
        try:
            yield self
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def metrics_host(settings: Mapping[str, Any]) -> str:
    return str((settings.get("defaults") or {}).get("metrics_host", "127.0.0.1"))


def central_logs(settings: Mapping[str, Any], name: str, *, level: int) -> Links:
    """This process's records, as those of server ``name``, to the log manager."""
    attached = Links(name)
    attached.add(install_from_settings(settings, server=name, level=level).close)
    return attached


def service_links(
    server: ControlServer,
    settings: Mapping[str, Any],
    *,
    links: Collection[str] = SERVICE_LINKS,
    level: int = logging.INFO,
) -> Links:
    """Central logs, registration, metrics and the command journal (those in ``links``)
    for a core service."""
    with Links(server.name).all_or_none() as attached:
        if CENTRAL_LOGS in links:
            attached.add(install_from_settings(settings, server=server.name, level=level).close)
        if REGISTRATION in links:
            metadata = {"kind": "service", "service": server.name}
            attached.add(attach_from_settings(server, settings, metadata=metadata).stop)
        if METRICS in links:
            attached.add(attach_metrics(server, host=metrics_host(settings), port=0).stop)
        if JOURNAL in links:
            # Here, not above: the storage client is not loaded by a service that needs none.
            from controlroom.services.storage.attach import attach_journal

            attached.add(attach_journal(server, settings).stop)
    return attached


def context_links(
    server: ControlServer, settings: Mapping[str, Any], *, level: int
) -> tuple[Links, StatusFollower]:
    """Central logs tagged with the running obsid, and the follower of the configuration
    manager that tells it (the context of the rows sent to storage, too)."""
    # Here, not above: a core service stores no rows and starts without the storage client.
    from controlroom.services.storage.attach import follow_confman

    with Links(server.name).all_or_none() as attached:
        follower = follow_confman(settings)
        attached.add(follower.stop)
        obsid = lambda: follower.current().get("obsid")  # noqa: E731
        attached.add(
            install_from_settings(settings, server=server.name, level=level, obsid=obsid).close
        )
    return attached, follower
