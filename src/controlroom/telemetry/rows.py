"""One line of the telemetry dictionary: parsed, checked, turned into a :class:`Parameter`.

Checks that need only the line itself live here (empty or malformed names,
numbers, bands, synoptic rows); checks across lines (duplicates, synoptic
sources) live in :mod:`.dictionary`. Every problem is reported with the line
and the column header as written in the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controlroom.telemetry.calibration import Calibration
from controlroom.telemetry.columns import Header
from controlroom.telemetry.errors import Problem
from controlroom.telemetry.limits import Band, Limits

SYNOPTICS_ORIGIN = "SYN"  # the origin synoptic parameters are stored under
SYNOPTIC_PREFIX = "SYN_"
LIMITS_ORIGIN = "LIMITS"  # reserved: where limit crossings are stored
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # usable as a column and a metric name
_ORIGIN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # goes into file names


@dataclass(frozen=True)
class Parameter:
    """One housekeeping parameter as the dictionary describes it."""

    name: str  # canonical
    origin: str  # storage mnemonic
    source: str  # TM source: the device or process
    original: str  # name the device uses (the canonical name when the cell is empty)
    unit: str = ""
    description: str = ""
    dashboard: str = ""
    timestamp: str = "timestamp"
    comment: str = ""
    calibration: Calibration = field(default_factory=Calibration)
    limits: Limits = field(default_factory=Limits)
    synoptic_of: Mapping[str, str] = field(default_factory=dict)  # site -> source name
    line: int = 0

    @property
    def is_synoptic(self) -> bool:
        return self.origin == SYNOPTICS_ORIGIN

    def describe(self) -> dict[str, Any]:
        """Plain data for the CLI and clients."""
        ops, nonops = self.limits.operational, self.limits.non_operational
        return {
            "name": self.name,
            "origin": self.origin,
            "source": self.source,
            "original": self.original,
            "unit": self.unit,
            "description": self.description,
            "slope": self.calibration.slope,
            "offset": self.calibration.offset,
            "operational": [ops.low, ops.high],
            "non_operational": [nonops.low, nonops.high],
            "synoptic_of": dict(self.synoptic_of),
        }


class _Cells:
    """The cells of one line, read by column key; problems are collected."""

    def __init__(self, cells: list[str], header: Header, line: int, problems: list[Problem]):
        self.cells, self.header, self.line, self.problems = cells, header, line, problems

    def text(self, key: str) -> str:
        index = self.header.positions.get(key)
        return self.cells[index].strip() if index is not None else ""

    def problem(self, key: str | None, message: str) -> None:
        column = self.header.title(key) if key in self.header.positions else key
        self.problems.append(Problem(self.header.path, self.line, column, message))

    def number(self, key: str) -> float | None:
        text = self.text(key)
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            self.problem(key, f"not a finite number: {text!r}")
            return None
        return value


def parse_row(
    cells: list[str], header: Header, line: int, problems: list[Problem]
) -> Parameter | None:
    """The parameter on this line, or ``None`` when the line has problems."""
    before = len(problems)
    row = _Cells(cells, header, line, problems)
    if not _field_count_ok(row):
        return None
    name, origin, source = row.text("name"), row.text("origin"), row.text("source")
    _check_identifier(row, "name", name, _NAME)
    _check_identifier(row, "origin", origin, _ORIGIN)
    if origin == LIMITS_ORIGIN:
        row.problem("origin", f"{LIMITS_ORIGIN} is reserved for limit crossings")
    if not source:
        row.problem("source", "empty: name the device or process")
    parameter = Parameter(
        name=name,
        origin=origin,
        source=source,
        original=row.text("original") or name,
        unit=row.text("unit"),
        description=row.text("description"),
        dashboard=row.text("dashboard"),
        timestamp=row.text("timestamp") or "timestamp",
        comment=row.text("comment"),
        calibration=_calibration(row),
        limits=_limits(row),
        synoptic_of=_synoptic_sources(row),
        line=line,
    )
    _check_synoptic_rules(row, parameter)
    return parameter if len(problems) == before else None


def _field_count_ok(row: _Cells) -> bool:
    expected, got = len(row.header.titles), len(row.cells)
    extra = row.cells[expected:]
    if got < expected or any(cell.strip() for cell in extra):
        row.problem(None, f"{got} fields, but the header has {expected}")
        return False
    return True


def _check_identifier(row: _Cells, key: str, value: str, pattern: re.Pattern[str]) -> None:
    if not value:
        row.problem(key, "empty")
    elif not pattern.match(value):
        row.problem(key, f"{value!r} is not a name (letters, digits and _, not first a digit)")


def _calibration(row: _Cells) -> Calibration:
    if row.text("function"):
        row.problem("function", "only linear calibration is supported: use slope and offset")
    slope, offset = row.number("slope"), row.number("offset")
    if slope == 0:
        row.problem("slope", "a slope of 0 would discard every reading")
    return Calibration(1.0 if slope is None else slope, offset or 0.0)


def _limits(row: _Cells) -> Limits:
    ops = _band(row, "min_ops", "max_ops")
    nonops = _band(row, "min_nonops", "max_nonops")
    if ops.low is not None and nonops.low is not None and ops.low < nonops.low:
        row.problem("min_ops", f"{ops.low:g} is below the non-operational minimum {nonops.low:g}")
    if ops.high is not None and nonops.high is not None and ops.high > nonops.high:
        row.problem("max_ops", f"{ops.high:g} is above the non-operational maximum {nonops.high:g}")
    return Limits(ops, nonops)


def _band(row: _Cells, low_key: str, high_key: str) -> Band:
    low, high = row.number(low_key), row.number(high_key)
    if low is not None and high is not None and low > high:
        row.problem(low_key, f"minimum {low:g} is above the maximum {high:g}")
    return Band(low, high)


def _synoptic_sources(row: _Cells) -> dict[str, str]:
    sources = {}
    for site, index in row.header.sites.items():
        value = row.cells[index].strip()
        if value:
            sources[site] = value
    return sources


def _check_synoptic_rules(row: _Cells, parameter: Parameter) -> None:
    """Synoptics copy a calibrated, limit-checked value: they carry no calibration of their own."""
    if not parameter.is_synoptic:
        if parameter.synoptic_of:
            site = next(iter(parameter.synoptic_of))
            row.problem(
                row.header.titles[row.header.sites[site]],
                f"only synoptics (storage mnemonic {SYNOPTICS_ORIGIN}) name a source per site",
            )
        if parameter.name.startswith(SYNOPTIC_PREFIX):
            row.problem(
                "name",
                f"{SYNOPTIC_PREFIX}* names are for synoptics (storage mnemonic {SYNOPTICS_ORIGIN})",
            )
        return
    if not parameter.name.startswith(SYNOPTIC_PREFIX):
        row.problem("name", f"a synoptic parameter's name starts with {SYNOPTIC_PREFIX}")
    if row.text("original"):
        row.problem(
            "original", "a synoptic parameter has no original name; name its source per site"
        )
    filled = [
        k
        for k in ("slope", "offset", "min_ops", "max_ops", "min_nonops", "max_nonops")
        if row.text(k)
    ]
    for key in filled:
        row.problem(
            key, "leave empty: a synoptic takes the calibrated, limit-checked value of its source"
        )
