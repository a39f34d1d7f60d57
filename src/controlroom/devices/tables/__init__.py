"""Instruments shipped as command tables (YAML, no Python), and the folder they are in.

A device entry in the Settings names a table instead of a controller class::

    devices:
      dmm:
        table: keithley2000          # a table here, or under locations.tables
        transport: tcp://192.168.1.95:1394
        simulator:
          module: controlroom.devices.tables.sim.server
          args: [--table, keithley2000]
          port: 7786
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

PACKAGED_TABLES = Path(__file__).resolve().parent


def table_folders(settings: Mapping[str, Any] | None = None) -> list[Path]:
    """Where tables are looked for: the lab's own folder (``locations.tables``), then ours."""
    locations = (settings or {}).get("locations") or {}
    own = str(locations.get("tables") or "")
    return [Path(own).expanduser(), PACKAGED_TABLES] if own else [PACKAGED_TABLES]
