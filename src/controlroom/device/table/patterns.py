"""Regular expressions a table gives: bounded, and refused where they could backtrack for ever.

A pattern checks what a client sends (an argument) or what an instrument
answers (a reply). Python's engine backtracks, so a quantified group that
itself holds a quantifier (``(a+)+``, ``(\\w*)*``) can take exponential time
on a crafted text: such patterns are refused when the table is loaded.
"""

from __future__ import annotations

import re
from typing import Any

from controlroom.device.table.errors import TableError

MAX_PATTERN = 200
# A group holding a quantifier, itself quantified: the shape of catastrophic backtracking.
_NESTED = re.compile(r"\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)\s*[*+{]")


def checked_pattern(value: Any, where: str) -> str:
    """``value`` if it is a short regular expression without nested quantifiers."""
    if not isinstance(value, str) or len(value) > MAX_PATTERN:
        raise TableError(f"{where}: a regular expression of at most {MAX_PATTERN} characters")
    try:
        re.compile(value)
    except re.error as exc:
        raise TableError(f"{where}: not a regular expression: {exc}") from None
    if _NESTED.search(value):
        raise TableError(f"{where}: a quantified group holds a quantifier (it could backtrack)")
    return value
