"""What the codec's extension types become where only JSON can go (a table, a text line).

The codec carries arrays, enums, dates and times, durations, complex numbers,
sets and bytes (:mod:`.codec`); a reply shown as JSON, or as the text of a
pipe-command answer, needs each as the closest JSON value.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` made of JSON types: enums become values, arrays lists, times ISO text."""
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if callable(getattr(value, "tolist", None)):  # numpy arrays and scalars, without numpy
        return jsonable(value.tolist())
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, complex):
        return [value.real, value.imag]
    return value
