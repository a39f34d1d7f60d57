"""Finding and reading a command table: by name among the table folders, or by path inside one.

A device entry names its table (``table: keithley2000``, or a path). A name is
looked up as ``<name>.yaml`` in each folder in turn; a path must lie inside
one of them once every symlink is followed. Tables are small: a larger file is
refused before it is parsed, and an error never quotes a file it refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from controlroom.config.confine import resolve_inside
from controlroom.config.errors import ConfigError
from controlroom.config.yamlfile import read_mapping
from controlroom.device.table.errors import TableError
from controlroom.device.table.model import Table, parse_table

MAX_TABLE_BYTES = 256 * 1024
TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def find_table(reference: str, folders: Iterable[Path]) -> Path:
    """The file ``reference`` names: a table name, or a path inside one of ``folders``."""
    roots = [Path(folder) for folder in folders if str(folder)]
    if TABLE_NAME.match(reference):
        for root in roots:
            candidate = root / f"{reference}.yaml"
            if candidate.is_file():
                try:
                    return resolve_inside(candidate, [root])
                except ConfigError as exc:  # a symlink that leads out of the folder
                    raise TableError(f"command table {exc}") from None
        listed = ", ".join(str(root) for root in roots) or "no table folder"
        raise TableError(f"no command table named {reference!r} in {listed}")
    try:
        found = resolve_inside(reference, roots)
    except ConfigError as exc:
        raise TableError(f"command table {exc}") from None
    if not found.is_file():  # a folder, a FIFO that would block the read, or nothing
        raise TableError(f"command table {reference!r} is not a file")
    return found


def read_table(path: Path) -> Table:
    """The table in file ``path`` (found by :func:`find_table`), checked."""
    try:
        data = read_mapping(path, max_bytes=MAX_TABLE_BYTES)
    except ConfigError as exc:  # too long, unreadable, not YAML, a bomb: never its content
        raise TableError(f"command table {exc}") from None
    return parse_table(data, str(path))


def load_table(reference: str, folders: Iterable[Path]) -> Table:
    """The table ``reference`` names (see :func:`find_table`), read and checked."""
    return read_table(find_table(reference, folders))
