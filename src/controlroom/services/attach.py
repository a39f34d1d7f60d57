"""What every core service attaches while it serves: central logs, registry, metrics.

One definition for all service entry points (``python -m
controlroom.services.<name>.server`` as the process manager runs them, and
``controlroom <group> run``), so a service behaves the same however it was
started. Each attachment is non-blocking and survives the service it talks
to being down. The log manager does not send records to itself and the
registry does not register with itself.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TextIO

from controlroom.config.settings import load_settings
from controlroom.rpc import ControlServer
from controlroom.rpc.process import serve_until_signalled
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


def serve_job_service(
    settings: Mapping[str, Any],
    name: str,
    build: Callable[..., ControlServer],
    *,
    runner: Callable[..., Any],
    ready_stream: TextIO = sys.stdout,
    **options: Any,
) -> None:
    """Build a service that runs functions (scheduler, scenarios) with ``runner``; serve it
    attached, until SIGINT, SIGTERM or ``quit``, ready line first."""
    server = build(settings, runner=runner, **options)
    with service_attachments(server, settings, name):
        serve_until_signalled(server, ready_stream)


def job_service_main(
    argv: list[str] | None,
    name: str,
    build: Callable[..., ControlServer],
    *,
    runner: Callable[..., Any],
) -> None:
    """The process entry of such a service: endpoints and confman from the command line."""
    parser = argparse.ArgumentParser(description=f"The controlroom {name} service.")
    parser.add_argument("--endpoint", help="command endpoint (default: Settings)")
    parser.add_argument("--pub-endpoint", help="publish endpoint (default: Settings)")
    parser.add_argument("--confman", help="configuration manager endpoint (default: Settings)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    options = {"endpoint": args.endpoint, "pub_endpoint": args.pub_endpoint}
    serve_job_service(load_settings(), name, build, runner=runner, confman=args.confman, **options)
