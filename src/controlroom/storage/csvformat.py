"""The CSV file format of housekeeping, and durable writes of such files.

A file starts with a header ``timestamp,setup_id,obsid,<columns...>`` and has
one line per row: the UTC timestamp as `format_datetime` text, the Setup id
and obsid (empty when unknown), then the values. CSV is text, so types come
back by their look: an empty field is ``None``, ``True``/``False`` are
booleans, integers and floats (as ``repr`` writes them, with ``nan`` and
``inf``) are numbers, anything else is a string. A string value that looks
like a number, a boolean or is empty therefore comes back as one; use SQLite
or HDF5 where such strings matter.

When an origin gains columns, a file written with the shorter header is
rewritten once with the new header (old rows empty in the new columns), atomically
(temporary file, fsync, rename), so every file keeps one header that pandas
and spreadsheets read as is.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from controlroom.storage.backend import OBSID, SETUP_ID, TIMESTAMP, Row, Scalar
from controlroom.storage.errors import StorageError
from controlroom.storage.timefmt import parse_timestamp

FIXED = [TIMESTAMP, SETUP_ID, OBSID]
_INT = re.compile(r"-?\d+\Z")
_FLOAT = re.compile(r"-?(?:\d+(?:\.\d+)?(?:e[-+]\d+)?|inf|nan)\Z")
_BOOLS = {"True": True, "False": False}
_TAIL = 65536


def header_of(columns: Sequence[str]) -> list[str]:
    """The header line of a file of an origin with ``columns``."""
    return [*FIXED, *columns]


def render(lines: Sequence[Sequence[Any]]) -> str:
    """CSV text of ``lines`` (None as an empty field, ``\\n`` line ends)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(lines)
    return out.getvalue()


def render_lines(
    stamps: Sequence[str], lines: Sequence[Sequence[Any]], indices: Sequence[int], numeric: bool
) -> str:
    """CSV text of the ``lines`` at ``indices``, each with its timestamp text from ``stamps``.

    ``numeric`` lines (every value a float, an int or a bool) have nothing to
    quote and no empty value, so they are formatted directly, about twice as
    fast as the csv module, into the same text (floats as ``repr`` writes
    them). The fixed fields need no quoting either: a timestamp text, an int
    and an obsid (a safe name).
    """
    if not indices:
        return ""
    width = len(lines[indices[0]]) - len(FIXED)
    if not numeric or width == 0:
        return render([[stamps[i], *lines[i][1:]] for i in indices])
    values = ",".join(["%r"] * width) + "\n"
    out = []
    for i in indices:
        line = lines[i]
        setup, obsid = line[1], line[2]
        fixed = f"{stamps[i]},{'' if setup is None else setup},{'' if obsid is None else obsid},"
        out.append(fixed + values % tuple(line[3:]))
    return "".join(out)


def parse_value(field: str) -> Scalar:
    """A CSV field back as the value it most likely was (see the module docstring)."""
    if field == "":
        return None
    if _INT.match(field):
        return int(field)
    if _FLOAT.match(field):
        return float(field)
    return _BOOLS.get(field, field)


def parse_row(line: Sequence[str], wanted: Sequence[tuple[str, int]]) -> Row:
    """A `Row` from one CSV line; ``wanted`` pairs column names with field positions."""
    values = {name: parse_value(line[i]) if i < len(line) else None for name, i in wanted}
    setup = line[1] if len(line) > 1 else ""
    return Row(
        timestamp=parse_timestamp(line[0]),
        values=values,
        setup_id=int(setup) if setup else None,
        obsid=(line[2] or None) if len(line) > 2 else None,
    )


def read_lines(path: Path) -> tuple[list[str], list[list[str]]]:
    """(header, data lines) of a CSV file; blank lines and an unfinished last line are skipped.

    An unfinished line is what a process killed mid-write leaves: never acknowledged.
    """
    try:
        data = path.read_bytes()
        text = data[: data.rfind(b"\n") + 1].decode("utf-8")
        lines = [line for line in csv.reader(io.StringIO(text, newline="")) if line]
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise StorageError(f"cannot read {path}: {exc}") from exc
    if not lines:
        return [], []
    return lines[0], lines[1:]


def read_header(path: Path) -> list[str]:
    """The header of a CSV file (empty when the file is empty)."""
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            return next(csv.reader(stream), [])
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise StorageError(f"cannot read {path}: {exc}") from exc


def append_text(path: Path, text: str) -> None:
    """Append ``text`` to ``path`` (created if missing) and fsync it before returning.

    Unbuffered writes: when the disk is full the error comes from here, at once,
    not from a later flush.
    """
    data = text.encode("utf-8")
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def cut_back(path: Path, size: int | None) -> None:
    """Cut ``path`` back to ``size`` bytes (remove it when ``size`` is None), durably."""
    if size is None:
        path.unlink(missing_ok=True)
        return
    with path.open("rb+") as stream:
        stream.truncate(size)
        os.fsync(stream.fileno())


def drop_partial_line(path: Path) -> None:
    """Cut an unfinished last line (a write killed mid-way) so appends start clean.

    That line belonged to a batch that was never acknowledged.
    """
    with path.open("rb+") as stream:
        size = stream.seek(0, os.SEEK_END)
        if size == 0:
            return
        start = max(0, size - _TAIL)
        stream.seek(start)
        tail = stream.read()
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n")
        stream.truncate(start + cut + 1 if cut >= 0 else 0)
        stream.flush()
        os.fsync(stream.fileno())


def rewrite_header(path: Path, header: list[str]) -> None:
    """Rewrite ``path`` under ``header``, moving each old column to its named place."""
    old, lines = read_lines(path)
    missing = [name for name in old if name not in header]
    if old[: len(FIXED)] != FIXED or missing:
        raise StorageError(f"{path}: header {old} does not fit the registered columns")
    position = [header.index(name) for name in old]
    temporary = path.with_name(path.name + ".rewrite")
    try:
        with temporary.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(header)
            for line in lines:
                moved = [""] * len(header)
                for field, to in zip(line, position, strict=False):
                    moved[to] = field
                writer.writerow(moved)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)  # a full disk must not keep a half copy
        raise
    fsync_dir(path.parent)


def make_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each made durable in its parent."""
    if folder.is_dir():
        return
    make_dirs(folder.parent)
    folder.mkdir(exist_ok=True)
    fsync_dir(folder.parent)


def fsync_dir(folder: Path) -> None:
    """Make the entries of ``folder`` (a new or renamed file) durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
