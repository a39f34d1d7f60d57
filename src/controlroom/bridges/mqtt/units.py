"""Units of HK parameters, from the telemetry dictionary.

``telemetry.dictionary`` in the Settings names the file; empty means the one
shipped inside the package. A dictionary that cannot be read only costs the
units: a warning, no units.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from controlroom.telemetry import (
    TelemetryDictionary,
    TelemetryError,
    load_dictionary,
    shipped_dictionary,
)

log = logging.getLogger(__name__)


class Units:
    """``unit(server, parameter)``: by canonical name, or by the server's original name."""

    def __init__(self, by_name: Mapping[str, str], by_original: Mapping[tuple[str, str], str]):
        self._by_name = dict(by_name)
        self._by_original = dict(by_original)

    @classmethod
    def of(cls, dictionary: TelemetryDictionary) -> Units:
        """The units of ``dictionary`` (parameters without a unit are left out)."""
        with_unit = [p for p in dictionary if p.unit]
        return cls(
            {p.name: p.unit for p in with_unit},
            {(p.origin, p.original): p.unit for p in with_unit},
        )

    def unit(self, server: str, parameter: str) -> str:
        found = self._by_name.get(parameter)
        if found is None:  # an untranslated HK name; the origin is the server's name in capitals
            found = self._by_original.get((server.upper(), parameter), "")
        return found

    def __len__(self) -> int:
        return len(self._by_name)


def load_units(settings: Mapping[str, Any]) -> Units:
    """The units of the dictionary the Settings name; none (and a warning) if it is unreadable."""
    path = str((settings.get("telemetry") or {}).get("dictionary") or "")
    try:
        return Units.of(load_dictionary(path) if path else shipped_dictionary())
    except TelemetryError as exc:
        log.warning("no units for MQTT: cannot read the telemetry dictionary %s: %s", path, exc)
        return Units({}, {})
