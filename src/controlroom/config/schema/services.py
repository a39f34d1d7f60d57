"""The ``services`` section of the Settings: where each core service listens, and its limits."""

from __future__ import annotations

from pydantic import Field

from controlroom.config.schema.base import Endpoint, PackageName, Period, Section
from controlroom.config.schema.web import Role


class ServiceEntry(Section):
    """Where a core service listens: its command (ROUTER) and publish (PUB) endpoints."""

    commands: Endpoint
    publish: Endpoint
    # The host (a key of `hosts`) that runs it; empty: the host its `commands` address
    # names. Needed when that address names no machine (tcp://0.0.0.0:P).
    host: str = ""


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
    # Fork controlroom processes from a preloaded parent (the process factory) rather
    # than start each interpreter afresh: faster starts, shared memory.
    fork: bool = True


class SchedulerEntry(ServiceEntry):
    """The scheduler's endpoints, where the jobs of a Setup may come from, and their role."""

    # Packages jobs may run functions from, besides security.allowed_packages.
    allowed_packages: list[PackageName]
    # The role the commands of its jobs (or rules) are checked against at every control
    # server, journaled as `scheduler:<job> via scheduler` (`scenarios:<rule> via scenarios`).
    role: Role = "operator"


class Services(Section):
    """The core services."""

    confman: ConfmanEntry
    storage: ServiceEntry
    logman: LogmanEntry
    registry: RegistryEntry
    procman: ProcmanEntry
    scheduler: SchedulerEntry
    scenarios: SchedulerEntry  # the same keys: endpoints, allowed_packages (for its rules)
