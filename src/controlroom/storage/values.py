"""What one row may hold: its fixed fields and its values, checked and made plain.

The fixed fields are the same for every backend: the timestamp is UTC seconds,
a number in 1970-9999 (calendar days name files, so the calendar must hold
it); the Setup id is an int or None; the obsid is None or a name that can name
a folder (like an origin). Values are `Scalar` everywhere; numpy scalars are
unwrapped to their Python equivalents, anything else is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from controlroom.storage.backend import Scalar
from controlroom.storage.errors import InvalidNameError, ValueTypeError

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
"""An origin or obsid: 1-64 of letters, digits, ``_ . -``, a letter or digit first."""

SCALAR_TYPES = frozenset({float, int, str, bool, type(None)})
"""The exact types of values every backend stores as they are."""

LAST_STAMP = 253_402_300_800
"""10000-01-01 UTC: calendar dates (file names) end there."""


def check_obsid(obsid: object) -> None:
    """Refuse an obsid that could not name a folder."""
    if obsid is not None and (not isinstance(obsid, str) or not SAFE_NAME.match(obsid)):
        raise InvalidNameError(f"obsid {obsid!r}: use 1-64 of A-Z a-z 0-9 _ . - (not first)")


def check_fixed(origin: str, stamp: object, setup_id: object, obsid: object) -> None:
    """Refuse a row whose timestamp, Setup id or obsid can never be stored."""
    if isinstance(stamp, bool) or not isinstance(stamp, float | int):
        raise ValueTypeError(f"{origin}: timestamp {stamp!r} is not a number")
    if not 0 <= stamp < LAST_STAMP:  # NaN fails every comparison, so it is out too
        raise ValueTypeError(f"{origin}: timestamp {stamp!r} is not in 1970-9999")
    if setup_id is not None and type(setup_id) is not int:
        raise ValueTypeError(f"{origin}: setup_id {setup_id!r} is not an int")
    check_obsid(obsid)


def scalars(values: Mapping[str, Any], columns: Sequence[str]) -> list[Scalar]:
    """The values of ``columns`` in order (missing ones None), each made a plain scalar."""
    out = [values.get(c) for c in columns]
    for i, value in enumerate(out):
        if type(value) not in SCALAR_TYPES:
            out[i] = to_scalar(value)
    return out


def to_scalar(value: object) -> Scalar:
    """A plain Python scalar for ``value`` (numpy scalars unwrapped), or `ValueTypeError`."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        value = item()  # a numpy scalar: its Python equivalent
    for kind in (bool, int, float, str):  # bool first: it is an int too
        if isinstance(value, kind):
            return kind(value)
    if value is None:
        return None
    raise ValueTypeError(f"{type(value).__name__} is not a storable scalar: {value!r:.60}")
