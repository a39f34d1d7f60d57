"""The ``devices`` section of the Settings: one entry per device, and how to simulate it."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from controlroom.config.schema.base import Endpoint, ObjectPath, Period, Port, Section


class SimulatorEntry(Section):
    """How to run a device's simulator: ``python -m module --host H --port P``."""

    module: str
    host: str = "127.0.0.1"
    port: Port = 0


class DeviceEntry(Section):
    """One device; extra keys are the user's (tools and drivers may read them)."""

    model_config = ConfigDict(extra="allow")

    controller: ObjectPath
    description: str = ""
    transport: str | None = None
    transport_options: dict[str, Any] = Field(default_factory=dict)
    simulator: SimulatorEntry | None = None
    commands: Endpoint | None = None
    publish: Endpoint | None = None
    hk_period_s: Period = 1.0
    status_period_s: Period = 0.5
    metrics_port: Port = 0
    demo: list[list[Any]] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
