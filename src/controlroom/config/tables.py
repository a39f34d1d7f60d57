"""Numeric tables from CSV files, for the ``csv//`` Setup directive.

Calibration tables and lookup curves are small numeric CSV files, often with a
header line naming the columns. The parser is written out (rather than handed
to ``numpy.loadtxt``) so that an error names the file *and* the line of the
file, not the line of some filtered copy of it. An error names the line by its
number only: the file may not be meant for the eyes of whoever reads the error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from controlroom.config.confine import read_limited_text
from controlroom.config.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


def load_numeric_csv(path: Path, max_bytes: int) -> npt.NDArray[np.float64]:
    """The CSV file ``path`` (at most ``max_bytes`` long) as a 2-D float array (rows x columns).

    Blank lines and ``#`` comments are ignored; the first remaining line is
    skipped when it is not numeric (a header). Every row must have the same
    number of columns.
    """
    import numpy as np  # lazy: keep importing the config package cheap

    rows: list[list[float]] = []
    header_seen = False
    for lineno, line in enumerate(read_limited_text(path, max_bytes).splitlines(), start=1):
        fields = [f.strip() for f in line.split("#", 1)[0].split(",")]
        if fields == [""]:
            continue
        row = _numbers(fields)
        if row is None and not rows and not header_seen:
            header_seen = True
            continue
        if row is None:
            raise ConfigError(f"{path}:{lineno}: not a row of numbers")
        if rows and len(row) != len(rows[0]):
            raise ConfigError(f"{path}:{lineno}: {len(row)} columns, expected {len(rows[0])}")
        rows.append(row)
    if not rows:
        raise ConfigError(f"{path}: no numeric rows")
    return np.array(rows, dtype=np.float64)


def _numbers(fields: list[str]) -> list[float] | None:
    """The fields as floats, or None when any of them is not a number."""
    try:
        return [float(f) for f in fields]
    except ValueError:
        return None
