"""What every core service attaches while it serves: central logs, registry, metrics.

One definition for all service entry points (``python -m
controlroom.services.<name>.server`` as the process manager runs them, and
``controlroom <group> run``), so a service behaves the same however it was
started. Each attachment is non-blocking and survives the service it talks
to being down. The log manager does not send records to itself and the
registry does not register with itself.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from controlroom.rpc import ControlServer
from controlroom.rpc.registration import attach_from_settings
from controlroom.services.logs.follow import install_from_settings
from controlroom.services.metrics import attach_metrics

log = logging.getLogger(__name__)


@contextlib.contextmanager
def service_attachments(
    server: ControlServer,
    settings: Mapping[str, Any],
    name: str,
    *,
    level: int = logging.INFO,
) -> Iterator[None]:
    """Attach logs, registration and metrics to core service ``name`` for the ``with``."""
    stoppers: list[Callable[[], None]] = []
    try:
        if name != "logman":
            stoppers.append(install_from_settings(settings, server=name, level=level).close)
        if name != "registry":
            metadata = {"kind": "service", "service": name}
            stoppers.append(attach_from_settings(server, settings, metadata=metadata).stop)
        host = str((settings.get("defaults") or {}).get("metrics_host", "127.0.0.1"))
        stoppers.append(attach_metrics(server, host=host, port=0).stop)
        yield
    finally:
        for stop in reversed(stoppers):
            try:
                stop()
            except Exception:  # one failing stop must not skip the rest
                log.exception("%s: detaching a core service link failed", name)
