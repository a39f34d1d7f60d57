"""Attach a telemetry pipeline to a control server.

The server is described by what the pipeline needs of it (its name, its
housekeeping hooks, its ``notify``), so the dictionary stays a plain library
that any layer may import.
"""

from __future__ import annotations

from typing import Any, Protocol

from controlroom.telemetry.dictionary import TelemetryDictionary
from controlroom.telemetry.limits import Hysteresis
from controlroom.telemetry.pipeline import TelemetryPipeline


class HkHooks(Protocol):
    hk_transform: Any


class HkServer(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def hooks(self) -> HkHooks: ...

    def notify(self, event: str, data: dict[str, Any] | None = None) -> None: ...


def attach_telemetry(
    server: HkServer,
    dictionary: TelemetryDictionary,
    *,
    origin: str | None = None,
    site: str,
    hysteresis: Hysteresis | None = None,
) -> TelemetryPipeline:
    """Make ``server`` translate, calibrate and limit-check its HK through ``dictionary``.

    ``origin`` is the server's storage mnemonic (default: its name in upper
    case, ``tempctl`` -> ``TEMPCTL``); ``site`` picks the synoptics column.
    Limit crossings go to ``server.notify``: to the listeners registered for
    ``limit`` and to the PUB socket as ``event/<server>``. Returns the
    pipeline, whose :meth:`~TelemetryPipeline.states` the caller may expose.
    """
    pipeline = TelemetryPipeline(
        dictionary,
        origin or server.name.upper(),
        site,
        server.notify,
        hysteresis=hysteresis,
    )
    server.hooks.hk_transform = pipeline
    return pipeline
