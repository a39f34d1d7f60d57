"""The shape of the Settings: pydantic models of every known section.

Where users add keys of their own:

- ``hosts``: any host names;
- ``devices``: any device names, and inside a device entry any keys beside the
  known ones (``options`` and ``transport_options`` are free-form too);
- the top level: sections whose name starts with ``x_``.

Everywhere else an unknown key is an error, so a typo (``hk_perod_s``, or
``device:`` for ``devices:``) is reported instead of silently ignored; a new
section or key is added here first. Validation is strict: YAML already types
its values, so a quoted number where a number belongs is a mistake, not
something to coerce.

The packaged ``settings.yaml`` is complete, so the sections and their keys are
required here: the YAML is the one place where default values live.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from controlroom.config.bridgeschema import Bridges
from controlroom.config.webschema import Web, WebUser
from controlroom.config.yamlmarks import KeyPath

USER_SECTION_PREFIX = "x_"
ENDPOINT_SCHEMES = ("tcp", "ipc", "inproc")


def _endpoint(value: str) -> str:
    scheme, separator, rest = value.partition("://")
    if not separator or scheme not in ENDPOINT_SCHEMES or not rest:
        raise ValueError("not a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)")
    return value


def _object_path(value: str) -> str:
    module, _, attribute = value.partition(":")
    if not module or not attribute:
        raise ValueError("not of the form package.module:Class")
    return value


def _package_name(value: str) -> str:
    if not all(part.isidentifier() for part in value.split(".")):
        raise ValueError("not a package name such as controlroom.devices")
    return value


Endpoint = Annotated[str, AfterValidator(_endpoint)]
PackageName = Annotated[str, AfterValidator(_package_name)]
ObjectPath = Annotated[str, AfterValidator(_object_path)]
Period = Annotated[float, Field(gt=0)]


class Section(BaseModel):
    """A section with a fixed set of keys: anything else is a typo."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ServiceEntry(Section):
    """Where a core service listens: its command (ROUTER) and publish (PUB) endpoints."""

    commands: Endpoint
    publish: Endpoint


class ConfmanEntry(ServiceEntry):
    """The configuration manager's endpoints and the largest Setup it accepts."""

    # Bytes of a Setup's YAML; a larger Setup is refused at submit.
    max_setup_bytes: int = Field(default=1024 * 1024, ge=1024)


class RegistryEntry(ServiceEntry):
    """The registry's endpoints, and how every server registers with it."""

    # Seconds without a heartbeat after which the registry drops a server.
    ttl_s: Period
    # Seconds between two heartbeats of a registered server (well below ttl_s).
    heartbeat_s: Period
    # Address servers bound to 0.0.0.0 or * advertise; empty: `hosts` by host name.
    advertise_host: str


class LogmanEntry(ServiceEntry):
    """The log manager's endpoints, where its files go and what processes buffer."""

    # PULL socket every process's log handler sends its records to.
    records: Endpoint
    # Directory of the daily files; empty: <locations.data>/logs.
    directory: str
    # Days of files kept.
    retention_days: int = Field(ge=1)
    # Records a process keeps while the log manager is unreachable.
    buffer_records: int = Field(ge=1)


class ProcmanEntry(ServiceEntry):
    """The process manager's endpoints and how it restarts and stops its processes."""

    # First restart delay, doubled per crash in a row up to backoff_max_s.
    backoff_s: Period
    backoff_max_s: Period
    # Restarts in a row before a process is left `failed`.
    max_restarts: int = Field(ge=0)
    # A run at least this long ends a row of crashes.
    stable_s: Period
    ready_timeout_s: Period
    stop_timeout_s: Period
    # Lines of stderr kept from a process that exited.
    stderr_lines: int = Field(ge=0)


class SchedulerEntry(ServiceEntry):
    """The scheduler's endpoints and where the jobs of a Setup may come from."""

    # Packages jobs may run functions from, besides security.allowed_packages.
    allowed_packages: list[PackageName]


class Services(Section):
    """The core services; only the configuration manager is implemented so far."""

    confman: ConfmanEntry
    storage: ServiceEntry
    logman: LogmanEntry
    registry: RegistryEntry
    procman: ProcmanEntry
    scheduler: SchedulerEntry
    scenarios: SchedulerEntry  # the same keys: endpoints, allowed_packages (for its rules)


class SimulatorEntry(Section):
    """How to run a device's simulator: ``python -m module --host H --port P``."""

    module: str
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)


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
    metrics_port: int = Field(default=0, ge=0, le=65535)
    demo: list[list[Any]] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)


class Locations(Section):
    """Directories; an empty string means the XDG default (see ``settings.location``)."""

    conf_repo: str
    data: str
    state: str


class Runtime(Section):
    """Deprecated: ``runtime.state_dir`` is read when ``locations.state`` is empty."""

    state_dir: str = ""


class Security(Section):
    """What a settings file may make us import."""

    allowed_packages: list[PackageName]


class Defaults(Section):
    """Values used where neither a device entry nor a command line gives one."""

    proxy_timeout_s: Period
    hk_period_s: Period
    status_period_s: Period
    spin_us: float = Field(ge=0)
    metrics_host: str


StorageKind = Literal["sqlite", "csv", "hdf5", "postgres"]


class StorageSenderSettings(Section):
    """How control servers queue and batch their rows for the storage manager."""

    queue_rows: int = Field(ge=1)
    batch_rows: int = Field(ge=1)
    batch_delay_s: Period
    timeout_s: Period


class Storage(Section):
    """The storage manager's backends (the first answers queries) and the senders."""

    backends: list[StorageKind] = Field(min_length=1)
    options: dict[StorageKind, dict[str, Any]]
    sender: StorageSenderSettings


class Telemetry(Section):
    """The telemetry dictionary (empty: the one shipped with controlroom)."""

    dictionary: str = ""


class SettingsModel(Section):
    """The whole merged Settings tree."""

    site: str
    hosts: dict[str, str]
    services: Services
    devices: dict[str, DeviceEntry]
    locations: Locations
    runtime: Runtime = Field(default_factory=Runtime)
    security: Security
    defaults: Defaults
    storage: Storage
    telemetry: Telemetry = Field(default_factory=Telemetry)
    web: Web = Field(default_factory=Web)
    bridges: Bridges = Field(default_factory=Bridges)

    @model_validator(mode="before")
    @classmethod
    def _skip_user_sections(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # pydantic reports the wrong type
        return {k: v for k, v in data.items() if not str(k).startswith(USER_SECTION_PREFIX)}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the Settings: where (key path) and what."""

    path: KeyPath
    message: str


def problems(tree: Mapping[str, Any]) -> list[Problem]:
    """Everything wrong in ``tree``; empty if it is valid."""
    try:
        SettingsModel.model_validate(tree)
    except ValidationError as exc:
        return [_problem(error) for error in exc.errors(include_url=False)]
    return []


def _problem(error: Any) -> Problem:
    path: KeyPath = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        return Problem(path, _unknown_key(str(path[-1])))
    if error["type"] == "missing":
        return Problem(path, "missing key")
    if error["type"] == "value_error":  # our own validators: drop pydantic's "Value error, "
        return Problem(path, str(error["ctx"]["error"]))
    return Problem(path, str(error["msg"]))


def _unknown_key(key: str) -> str:
    guess = difflib.get_close_matches(key, _known_keys(), n=1)
    if not guess:
        return f"unknown key (names of your own belong in a section starting {USER_SECTION_PREFIX})"
    return f"unknown key (did you mean {guess[0]!r}?)"


def _known_keys() -> list[str]:
    """Every key name any section knows; a typo is matched against these."""
    models: list[type[BaseModel]] = [
        SettingsModel,
        Services,
        ServiceEntry,
        LogmanEntry,
        RegistryEntry,
        ProcmanEntry,
        SimulatorEntry,
        DeviceEntry,
        Locations,
        Runtime,
        Security,
        Defaults,
        Storage,
        StorageSenderSettings,
        Telemetry,
        Web,
        WebUser,
    ]
    return sorted({name for model in models for name in model.model_fields})
