"""Simulator of an instrument described by a command table.

``python -m controlroom.devices.tables.sim.server --table keithley2000 [--folder DIR ...]
[--host H] [--port P] [--speed X]`` answers the table's commands over TCP as
:mod:`controlroom.device.table.simulated` describes: fixed or scripted replies,
the state its writes set, delays, and a SCPI error queue. The table is looked
for in the ``--folder`` folders, then where the device server looks for it
(the Settings' ``locations.tables``, then the shipped tables).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from controlroom.config.errors import ConfigError
from controlroom.config.settings import load_settings
from controlroom.device.simkit.server import (
    LineSimulator,
    parse_simulator_args,
    run_simulator,
    simulator_parser,
)
from controlroom.device.table import Table, TableError, load_table
from controlroom.device.table.simulated import TableSimulation
from controlroom.devices.tables import table_folders


class TableSimulator(LineSimulator):
    """A TCP server answering one command table."""

    def __init__(
        self, table: Table, host: str = "127.0.0.1", port: int = 0, *, speed: float = 1.0
    ) -> None:
        terminator = str(table.transport.get("read_terminator") or "\n")
        super().__init__(host, port, terminator=terminator)
        self.simulation = TableSimulation(table, speed=speed)

    def handle_line(self, line: str) -> str | None:
        return self.simulation.handle_line(line)


def main(argv: Sequence[str] | None = None) -> None:
    parser = simulator_parser(__doc__, 0)
    parser.add_argument("--table", required=True, help="table name, or a path inside a folder")
    parser.add_argument(
        "--folder", action="append", default=[], help="a folder of tables (before the shipped ones)"
    )
    args = parse_simulator_args(parser, argv)
    try:
        folders = [*(Path(folder) for folder in args.folder), *table_folders(load_settings())]
        table = load_table(args.table, folders)
    except (TableError, ConfigError) as exc:
        parser.exit(2, f"{exc}\n")
    run_simulator(TableSimulator(table, args.host, args.port, speed=args.speed))


if __name__ == "__main__":
    main(sys.argv[1:])
