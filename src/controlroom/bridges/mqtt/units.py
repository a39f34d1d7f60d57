"""Units of HK parameters, read from the telemetry dictionary's CSV.

The bridge reads only three columns (canonical name, original name, unit;
plus the storage mnemonic to place an original name) with the ``csv`` module,
because bridges do not import the telemetry service. Headers are matched like
the service does (case and repeated spaces ignored, CGSE aliases accepted). A
dictionary that cannot be read only costs the units: a warning, no units.

``telemetry.dictionary`` in the Settings names the file; empty means the one
shipped inside the package, which is read as package data.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SHIPPED = ("services", "telemetry", "data", "telemetry.csv")
_HEADERS = {
    "origin": ("storage mnemonic",),
    "name": ("canonical name", "cam egse mnemonic"),
    "original": ("original name", "original name in egse"),
    "unit": ("unit", "unit cal1"),
}


class Units:
    """``unit(server, parameter)``: by canonical name, or by the server's original name."""

    def __init__(self, by_name: Mapping[str, str], by_original: Mapping[tuple[str, str], str]):
        self._by_name = dict(by_name)
        self._by_original = dict(by_original)

    def unit(self, server: str, parameter: str) -> str:
        found = self._by_name.get(parameter)
        if found is None:  # an untranslated HK name; the origin is the server's name in capitals
            found = self._by_original.get((server.upper(), parameter), "")
        return found

    def __len__(self) -> int:
        return len(self._by_name)


def parse_units(text: str) -> Units:
    """The units in a dictionary's CSV ``text`` (rows without a unit are left out)."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows, [])
    where = _columns(header)
    by_name: dict[str, str] = {}
    by_original: dict[tuple[str, str], str] = {}
    for row in rows:
        cell = {key: row[i].strip() if i < len(row) else "" for key, i in where.items()}
        if not cell.get("name") or not cell.get("unit"):
            continue
        by_name[cell["name"]] = cell["unit"]
        if cell.get("original") and cell.get("origin"):
            by_original[(cell["origin"], cell["original"])] = cell["unit"]
    return Units(by_name, by_original)


def load_units(settings: Mapping[str, Any]) -> Units:
    """The units of the dictionary the Settings name; none (and a warning) if it is unreadable."""
    path = str((settings.get("telemetry") or {}).get("dictionary") or "")
    try:
        text = Path(path).read_text("utf-8-sig") if path else _shipped_text()
        return parse_units(text)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        log.warning("no units for MQTT: cannot read the telemetry dictionary %s: %s", path, exc)
        return Units({}, {})


def _shipped_text() -> str:
    return resources.files("controlroom").joinpath(*SHIPPED).read_text("utf-8-sig")


def _columns(header: list[str]) -> dict[str, int]:
    normal = [" ".join(h.lower().split()) for h in header]
    return {
        key: normal.index(alias)
        for key, aliases in _HEADERS.items()
        for alias in aliases
        if alias in normal
    }
