"""The ``devices`` section of the Settings: one entry per device, and how to simulate it."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from controlroom.config.schema.base import Endpoint, ObjectPath, Period, Port, Section

SimulatorArg = Annotated[str, StringConstraints(max_length=200)]
TableName = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class SimulatorEntry(Section):
    """How to run a device's simulator: ``python -m module [args] --host H --port P``."""

    module: str
    args: list[SimulatorArg] = Field(default_factory=list, max_length=20)
    host: str = "127.0.0.1"
    port: Port = 0


class DeviceEntry(Section):
    """One device; extra keys are the user's (tools and drivers may read them)."""

    model_config = ConfigDict(extra="allow")

    # The driver class, or the command table it is built from (one of the two).
    controller: ObjectPath | None = None
    table: TableName | None = None
    # Or a PyMeasure / QCoDeS driver class, served with the readings `housekeeping` lists.
    pymeasure: ObjectPath | None = None
    qcodes: ObjectPath | None = None
    housekeeping: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=200
    )
    # The PyMeasure driver's methods to serve besides its controls (none by default).
    methods: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=200
    )
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

    @model_validator(mode="after")
    def _one_driver(self) -> Self:
        given = [k for k in ("controller", "table", "pymeasure", "qcodes") if getattr(self, k)]
        if not given:
            raise ValueError("missing key: controller (package.module:Class) or table")
        if len(given) > 1:
            raise ValueError(f"give one of controller, table, pymeasure, qcodes, not {given}")
        return self
