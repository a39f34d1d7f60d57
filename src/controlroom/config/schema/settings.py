"""The whole Settings tree, its smaller top-level sections, and what is wrong in a tree."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BaseModel, Field, ValidationError, model_validator

from controlroom.config.schema.base import PackageName, Period, Section
from controlroom.config.schema.bridges import Bridges
from controlroom.config.schema.devices import DeviceEntry
from controlroom.config.schema.services import Services
from controlroom.config.schema.storage import Storage
from controlroom.config.schema.web import Role, Web
from controlroom.config.yamlmarks import KeyPath

USER_SECTION_PREFIX = "x_"


class Locations(Section):
    """Directories; an empty string means the XDG default (see ``settings.location``)."""

    conf_repo: str
    data: str
    state: str
    tables: str = ""  # the lab's own command tables (YAML instruments)


class Runtime(Section):
    """Deprecated: ``runtime.state_dir`` is read when ``locations.state`` is empty."""

    state_dir: str = ""


_KEY_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def _key_name(value: str) -> str:
    # The rule `controlroom keys add` names client keys by (controlroom.rpc.keyring).
    if not _KEY_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a key name (1 to 64 of a-z, 0-9, '_', '.', '-', "
            "starting with a letter or digit)"
        )
    return value


KeyName = Annotated[str, AfterValidator(_key_name)]


class Security(Section):
    """What a settings file may make us import, and the keys of the facility network."""

    allowed_packages: list[PackageName]
    # The keys folder (`controlroom keys init`); empty: no CURVE, loopback only.
    keys: str = ""
    # The client key this process uses; $CONTROLROOM_IDENTITY overrides it.
    identity: KeyName = "lab"
    # The role of a caller on a socket without CURVE (which can only be loopback).
    anonymous_role: Role = "admin"


class Defaults(Section):
    """Values used where neither a device entry nor a command line gives one."""

    proxy_timeout_s: Period
    hk_period_s: Period
    status_period_s: Period
    spin_us: float = Field(ge=0)
    metrics_host: str


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
    return sorted({name for model in _sections(SettingsModel) for name in model.model_fields})


def _sections(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """``model`` and every section below it, found through the fields' types."""
    yield model
    for field in model.model_fields.values():
        for inner in _models_in(field.annotation):
            yield from _sections(inner)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models an annotation names, inside ``dict[...]``, ``list[...]`` or ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in get_args(annotation):
        yield from _models_in(argument)
