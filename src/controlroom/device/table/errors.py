"""The one error of command tables, and the check every mapping of a table gets."""

from collections.abc import Iterable, Mapping
from typing import Any

from controlroom.device.errors import DeclarationError


class TableError(DeclarationError):
    """A command table is not valid or cannot be read; the message names the key at fault."""


def check_keys(entry: Mapping[Any, Any], known: Iterable[str], where: str) -> None:
    """Refuse keys ``entry`` should not have (a typo would otherwise be ignored)."""
    allowed = set(known)
    unknown = sorted(str(k) for k in entry if k not in allowed)
    if unknown:
        raise TableError(f"{where}: unknown keys {unknown} (known: {', '.join(sorted(allowed))})")
