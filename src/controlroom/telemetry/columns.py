"""The columns of a telemetry dictionary file and how its header line is read.

The columns are the CGSE ``tm-dictionary.csv`` columns, in
the same order, with the mission-specific names made generic. The CGSE names
are accepted as aliases, so an existing CGSE dictionary loads as it is:

====================================  =====================================
header (ours)                         CGSE alias
====================================  =====================================
TM source                             --
Storage mnemonic                      --  (the origin the values are stored under)
Canonical name                        CAM EGSE mnemonic
Original name                         Original name in EGSE  (empty: same as canonical)
Timestamp column                      Name of corresponding timestamp
Origin of synoptics at <SITE>         --  (one column per site, any number)
Description                           --
Dashboard                             MON screen
Unit                                  unit cal1
Offset b                              offset b cal1   (calibrated = a * raw + b)
Slope a                               slope a cal1
Calibration function                  --  (must be empty: only linear calibration)
MAX nonops, MIN nonops                --
MAX ops, MIN ops                      --
Comment                               --
====================================  =====================================

Headers are matched without regard to case or repeated spaces; columns may
come in any order, but a missing required column, an unknown header or a
repeated one is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from controlroom.telemetry.errors import Problem


@dataclass(frozen=True)
class Column:
    key: str  # the field name used in code
    header: str
    required: bool = True
    aliases: tuple[str, ...] = ()


COLUMNS = (
    Column("source", "TM source"),
    Column("origin", "Storage mnemonic"),
    Column("name", "Canonical name", aliases=("CAM EGSE mnemonic",)),
    Column("original", "Original name", aliases=("Original name in EGSE",)),
    Column("timestamp", "Timestamp column", False, ("Name of corresponding timestamp",)),
    Column("description", "Description", False),
    Column("dashboard", "Dashboard", False, ("MON screen",)),
    Column("unit", "Unit", aliases=("unit cal1",)),
    Column("offset", "Offset b", aliases=("offset b cal1",)),
    Column("slope", "Slope a", aliases=("slope a cal1",)),
    Column("function", "Calibration function", False),
    Column("max_nonops", "MAX nonops"),
    Column("min_nonops", "MIN nonops"),
    Column("max_ops", "MAX ops"),
    Column("min_ops", "MIN ops"),
    Column("comment", "Comment", False),
)
SITE_PREFIX = "Origin of synoptics at "
_SITE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


_BY_HEADER = {_folded(n): c for c in COLUMNS for n in (c.header, *c.aliases)}


@dataclass
class Header:
    """Where each known column is in the file, and the site columns."""

    path: str
    line: int
    positions: dict[str, int] = field(default_factory=dict)  # column key -> index
    sites: dict[str, int] = field(default_factory=dict)  # site (upper case) -> index
    titles: list[str] = field(default_factory=list)  # headers as written

    def title(self, key: str) -> str:
        """The header of column ``key`` as written in the file (for messages)."""
        return self.titles[self.positions[key]]


def read_header(cells: list[str], path: str, line: int, problems: list[Problem]) -> Header:
    """Map the header cells to columns; every problem found is appended."""
    header = Header(path, line, titles=[c.strip() for c in cells])
    for index, title in enumerate(header.titles):
        _place(header, index, title, problems)
    for column in COLUMNS:
        if column.required and column.key not in header.positions:
            problems.append(Problem(path, line, column.header, "required column is missing"))
    return header


def _place(header: Header, index: int, title: str, problems: list[Problem]) -> None:
    def problem(message: str) -> None:
        problems.append(Problem(header.path, header.line, title or f"#{index + 1}", message))

    if not title:
        return  # trailing empty header cells, as spreadsheets write them
    if _folded(title).startswith(_folded(SITE_PREFIX)):
        site = title.strip()[len(SITE_PREFIX) :].strip()
        if not _SITE.match(site):
            problem(f"site column needs a site name (letters, digits, _ or -): {site!r}")
        elif site.upper() in header.sites:
            problem(f"site {site} has two columns")
        else:
            header.sites[site.upper()] = index
        return
    column = _BY_HEADER.get(_folded(title))
    if column is None:
        known = ", ".join(c.header for c in COLUMNS)
        problem(f"unknown column (expected one of: {known}, or '{SITE_PREFIX}<SITE>')")
    elif column.key in header.positions:
        problem(f"column repeats {header.title(column.key)!r}")
    else:
        header.positions[column.key] = index
