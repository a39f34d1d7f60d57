"""A remote exception as plain data: ``{type, message, traceback, origin}``."""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass
from typing import Any

from controlroom.wire.errors import MalformedFrame


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What crosses the wire when a command fails: never the exception object itself."""

    type: str
    message: str
    traceback: str = ""
    origin: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException, origin: str = "") -> ErrorInfo:
        text = "".join(traceback.format_exception(exc))
        return cls(type(exc).__name__, str(exc), text, origin)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ErrorInfo:
        if not isinstance(data, dict):
            raise MalformedFrame("error info must be a map")
        fields = {}
        for key in ("type", "message", "traceback", "origin"):
            value = data.get(key, "")
            if not isinstance(value, str):
                raise MalformedFrame(f"error info field {key!r} must be a string")
            fields[key] = value
        if not fields["type"]:
            raise MalformedFrame("error info without a type")
        return cls(**fields)

    def __str__(self) -> str:
        where = f" (from {self.origin})" if self.origin else ""
        return f"{self.type}: {self.message}{where}"
