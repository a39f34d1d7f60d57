"""The ``schedules`` section of a Setup: which job runs what, and when.

::

    schedules:
      nightly_warmup:                          # the job's name
        cron: "0 2 * * *"                      # crontab: minute hour day month weekday
        run: mylab.blocks.thermal:warm_up      # package.module:function
        kwargs: {output: 1, target: 293.0}     # optional: the function's keyword arguments
        observation: Nightly warm-up           # optional: the observation's description
        timezone: Europe/Brussels              # optional: default the host's local time
        enabled: true                          # optional: false lists the job, paused

``run`` names a building block or a plain function. It is imported only from
the packages the Settings allow (``security.allowed_packages`` and
``services.scheduler.allowed_packages``), never from the Setup text or the
network: the Setup only names it, and it must be defined in one of those
packages (see :mod:`controlroom.config.importing`). A building block always runs inside an
observation opened at the configuration manager (``observation`` describes it,
by default the block's full name); a plain function runs inside one only when
``observation`` is given. See :mod:`.crontab` for the cron fields.

An entry that is malformed, or names something that cannot be imported, is
refused on its own: the other jobs of the Setup still run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controlroom.services.scheduler.crontab import cron_trigger
from controlroom.services.scheduler.errors import ScheduleError

SECTION = "schedules"
_KEYS = frozenset({"cron", "run", "kwargs", "observation", "timezone", "enabled"})


@dataclass(frozen=True)
class JobSpec:
    """One entry of the ``schedules`` section, checked."""

    name: str
    cron: str
    run: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    observation: str | None = None
    timezone: str | None = None
    enabled: bool = True

    def trigger(self) -> Any:
        """A fresh APScheduler cron trigger for this job."""
        return cron_trigger(self.cron, self.timezone)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cron": self.cron,
            "run": self.run,
            "kwargs": dict(self.kwargs),
            "observation": self.observation,
            "timezone": self.timezone,
            "enabled": self.enabled,
        }


def parse_schedules(setup: Mapping[str, Any] | None) -> tuple[list[JobSpec], dict[str, str]]:
    """The jobs of ``setup``, and why each refused entry was refused (by name)."""
    section = (setup or {}).get(SECTION)
    if section is None:
        return [], {}
    if not isinstance(section, Mapping):
        raise ScheduleError(
            f"{SECTION} must map job names to entries, not {type(section).__name__}"
        )
    specs: list[JobSpec] = []
    refused: dict[str, str] = {}
    for name, entry in section.items():
        try:
            specs.append(parse_entry(str(name), entry))
        except ScheduleError as exc:
            refused[str(name)] = str(exc)
    return specs, refused


def parse_entry(name: str, entry: Any) -> JobSpec:
    """One job: every key checked, the cron expression and time zone included."""
    where = f"{SECTION}.{name}"
    if not isinstance(entry, Mapping):
        raise ScheduleError(f"{where}: expected a mapping with cron and run")
    unknown = sorted(str(key) for key in entry if key not in _KEYS)
    if unknown:
        raise ScheduleError(f"{where}: unknown key(s) {unknown} (known: {sorted(_KEYS)})")
    spec = JobSpec(
        name,
        _text(entry, "cron", where),
        _text(entry, "run", where),
        _kwargs(entry.get("kwargs"), where),
        _optional_text(entry, "observation", where),
        _optional_text(entry, "timezone", where),
        _flag(entry.get("enabled", True), where),
    )
    spec.trigger()  # a bad expression or time zone is refused now, not at 2 a.m.
    return spec


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ScheduleError(f"{where}: {key} must be a non-empty string, not {value!r}")
    return value.strip()


def _optional_text(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if entry.get(key) is None else _text(entry, key, where)


def _kwargs(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ScheduleError(f"{where}: kwargs must map argument names to values")
    return dict(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ScheduleError(f"{where}: enabled must be true or false, not {value!r}")
    return value
