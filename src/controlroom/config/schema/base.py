"""The section base and the value types that every part of the Settings shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

ENDPOINT_SCHEMES = ("tcp", "ipc", "inproc")


class SectionError(ValueError):
    """A part of the Settings that does not fit its section: ``where.key: what is wrong``."""


class Section(BaseModel):
    """A section with a fixed set of keys: anything else is a typo."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @classmethod
    def read(cls, value: object, where: str) -> Self:
        """``value``, the part of the Settings at ``where``, checked as this section.

        NavigableDicts and tuples are taken as the plain dicts and lists the strict
        schema wants; :class:`SectionError` names the first problem.
        """
        try:
            return cls.model_validate(_plain(value))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            path = ".".join(str(part) for part in (where, *first["loc"]))
            raise SectionError(f"{path}: {first['msg']}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


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


def _command_name(value: str) -> str:
    if not value.isidentifier():
        raise ValueError(f"{value!r} is not a command name (letters, digits, underscores)")
    return value


Endpoint = Annotated[str, AfterValidator(_endpoint)]
PackageName = Annotated[str, AfterValidator(_package_name)]
ObjectPath = Annotated[str, AfterValidator(_object_path)]
CommandName = Annotated[str, AfterValidator(_command_name)]
Period = Annotated[float, Field(gt=0)]
"""Seconds, strictly positive."""
Port = Annotated[int, Field(ge=0, le=65535)]
"""A TCP port; 0 lets the system choose."""
