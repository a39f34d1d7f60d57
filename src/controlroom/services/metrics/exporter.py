"""Prometheus metrics for one control server: ``attach_metrics(server)``.

Each server gets its own ``CollectorRegistry`` (never prometheus_client's
global one), so several servers in one process -- a test, ``controlroom up``
running services in threads -- each serve exactly their own metrics. On it:

* ``controlroom_hk{server, name, unit}``: the latest housekeeping values
  (see :mod:`.housekeeping` for why one labelled family);
* ``controlroom_commands_total{server, command, outcome}`` and
  ``controlroom_command_duration_seconds{server, command}``;
* ``controlroom_server_info``, uptime, requests, malformed frames, backlog
  (:mod:`.server_info`);
* ``process_*``: CPU, memory, open files of the server process.

The exporter attaches to the server's hooks, so nothing in ``rpc`` knows about
Prometheus, and puts its URL under ``metrics`` in the server's ``info``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, ProcessCollector

from controlroom.config.settings import device_settings
from controlroom.rpc.lifecycle import Stoppable
from controlroom.services.metrics.commands import CommandMetrics
from controlroom.services.metrics.housekeeping import HousekeepingMetrics
from controlroom.services.metrics.httpserver import MetricsHttpServer
from controlroom.services.metrics.server_info import ServerMetrics

if TYPE_CHECKING:
    from controlroom.rpc.server import ControlServer

INFO_KEY = "metrics"  # where the URL appears in the server's info


class MetricsExporter(Stoppable):
    """Serves one control server's metrics over HTTP until :meth:`stop`."""

    def __init__(
        self,
        server: ControlServer,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        units: Mapping[str, str] | None = None,
    ) -> None:
        self.server = server
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.registry.register(ServerMetrics(server))
        self.housekeeping = HousekeepingMetrics(server.name, units)
        self.registry.register(self.housekeeping)
        self.commands = CommandMetrics(self.registry, server.name, server.served.names())
        # The HTTP server comes last: if its address is refused nothing is attached.
        self._http = MetricsHttpServer(self.registry, host, port, name=server.name)
        server.hooks.hk_sinks.append(self.housekeeping)
        # Counted right after the reply goes out: the caller never waits for it.
        server.hooks.reply_observers.append(self.commands)
        server.extra_info[INFO_KEY] = self.url

    @property
    def url(self) -> str:
        """The scrape address, ``http://host:port/metrics`` (the port actually bound)."""
        return self._http.url

    @property
    def port(self) -> int:
        return self._http.port

    def stop(self) -> None:
        """Detach from the server and shut the HTTP server down; idempotent."""
        hooks = self.server.hooks
        # New lists rather than remove(): a thread iterating the old one is undisturbed.
        hooks.hk_sinks = [s for s in hooks.hk_sinks if s is not self.housekeeping]
        hooks.reply_observers = [o for o in hooks.reply_observers if o is not self.commands]
        if self.server.extra_info.get(INFO_KEY) == self.url:
            del self.server.extra_info[INFO_KEY]
        self._http.stop()


def attach_metrics(
    server: ControlServer,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    units: Mapping[str, str] | None = None,
) -> MetricsExporter:
    """Serve ``server``'s metrics on ``http://host:port/metrics`` (port 0: the OS picks).

    ``units`` maps canonical HK names to units (from the telemetry dictionary).
    Attach before or after ``server.start()``; stop the exporter when the
    server stops. Raises :class:`~.errors.MetricsAddressError` if the address
    cannot be bound.
    """
    return MetricsExporter(server, host=host, port=port, units=units)


def metrics_address(settings: Mapping[str, Any], device: str) -> tuple[str, int]:
    """``(defaults.metrics_host, devices.<device>.metrics_port)`` from the Settings.

    A device without ``metrics_port`` gets 0 (the OS picks); Prometheus needs
    a fixed port per device in its scrape configuration.
    """
    host = str(settings["defaults"].get("metrics_host", "127.0.0.1"))
    return host, int(device_settings(settings, device).get("metrics_port", 0))
