"""CSV backend: daily and per-observation files, the format people open first.

Layout under ``root``::

    registrations.json                            origins and their columns
    daily/20220601/20220601_<SITE>_<ORIGIN>.csv    every row, by UTC day of its timestamp
    obs/<obsid>/<obsid>_<SITE>_<ORIGIN>.csv        rows that carry that obsid, again

Every file has the format of `controlroom.storage.csvformat`. ``append``
writes each file of the batch once and fsyncs it before returning (batches
that wait together are written together: ``append_tables``). When a write
fails (disk full, I/O error) every file of the batch is cut back to its size
before the batch (`controlroom.storage.csvappend`), so a failed append
leaves neither a torn line nor part of the batch, and raises
`BackendUnavailableError`: the batch can be appended again once there is
space. A writer killed mid-batch may leave some complete lines of that
(unacknowledged) batch, which a resend stores again, and a torn last line,
which is ignored and cut before the next append. Queries read the
daily files back (one per UTC day in the range): correct, not fast; SQLite is
the backend for queries.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from controlroom.storage import csvformat
from controlroom.storage.backend import Row
from controlroom.storage.csvappend import Appends
from controlroom.storage.errors import StorageError, unavailable
from controlroom.storage.registrations import BackendBase, Batched, Span, check_origin
from controlroom.storage.table import Lines, lines_of
from controlroom.storage.timefmt import format_day, format_timestamps

REGISTRATIONS = "registrations.json"


class CsvBackend(BackendBase):
    """Housekeeping in CSV files under ``root``, named with the ``site``."""

    def __init__(self, root: str | Path, site: str = "LAB") -> None:
        self.root = Path(root)
        self.site = check_origin(site)  # it ends up in file names, like an origin
        try:
            csvformat.make_dirs(self.root)
        except OSError as exc:
            raise unavailable(f"cannot create the CSV folder {self.root}", exc) from exc
        super().__init__(self._load_registrations())
        self._headers: dict[Path, list[str]] = {}  # files checked in this process

    def close(self) -> None:
        """Nothing stays open between appends; forget the checked headers."""
        self._headers.clear()

    def daily_path(self, origin: str, day: str) -> Path:
        """The daily file of ``origin`` for the UTC ``day`` (``YYYYMMDD``)."""
        return self.root / "daily" / day / f"{day}_{self.site}_{origin}.csv"

    def obs_path(self, origin: str, obsid: str) -> Path:
        """The file of ``origin`` for the observation ``obsid``."""
        return self.root / "obs" / obsid / f"{obsid}_{self.site}_{origin}.csv"

    stores_together = True

    def _store_registration(self, origin: str, new_origin: bool, new: list[str]) -> None:
        """Every registration, ``new`` included, saved in ``registrations.json``."""
        saved = {o: self.columns(o) for o in self.origins()}
        saved[origin] = [*saved.get(origin, []), *new]
        self._save_registrations(saved)

    def _store_rows(self, origin: str, rows: Sequence[Row], columns: list[str]) -> None:
        """Write ``rows`` as lines (their values made plain scalars)."""
        self._store_lines(origin, lines_of(rows, columns), columns)

    def _store_lines(self, origin: str, lines: Lines, columns: list[str]) -> None:
        """Write ``lines`` to their daily (and observation) files; fsync each file once."""
        self._store_together([(origin, lines, columns)])

    def _store_together(self, batches: Sequence[Batched]) -> None:
        """Write every batch to its files, then fsync each file once (see `.csvappend`)."""
        appends = Appends()
        try:
            for origin, lines, columns in batches:
                header = csvformat.header_of(columns)
                for path, text in self._texts(origin, lines):
                    created = self._prepare(path, header)
                    opening = csvformat.render([header]) if created else ""
                    appends.add(path, opening + text, created=created)
                    self._headers[path] = header
            appends.sync()
        except BaseException as exc:
            appends.undo()
            for path in appends.paths:
                self._headers.pop(path, None)  # checked again (torn line cut) by the next append
            if isinstance(exc, OSError):
                raise unavailable(f"CSV write under {self.root} failed", exc) from exc
            raise
        finally:
            appends.close()

    def _texts(self, origin: str, lines: Lines) -> list[tuple[Path, str]]:
        """The files of ``lines`` (daily, observation) and the text each one gets."""
        rows = lines.rows
        stamps = format_timestamps([row[0] for row in rows])
        files = [(self.daily_path(origin, d), i) for d, i in _by_day(stamps).items()]
        files += [(self.obs_path(origin, o), i) for o, i in _by_obsid(rows).items()]
        rendered: dict[tuple[int, ...], str] = {}  # a day's rows are often an obs's rows too
        texts = []
        for path, indices in files:
            key = tuple(indices)
            if key not in rendered:
                rendered[key] = csvformat.render_lines(stamps, rows, indices, lines.numeric)
            texts.append((path, rendered[key]))
        return texts

    def _latest(self, origin: str, columns: list[str], name: str | None) -> Row | None:
        """The newest daily file that has a row (with a value for ``name``): its last one."""
        for path in reversed(self._daily_files(origin)):
            rows = self._read(path, columns)
            if name is not None:
                rows = [r for r in rows if r.values[name] is not None]
            if rows:
                return max(reversed(rows), key=lambda r: r.timestamp)  # ties: last appended
        return None

    def _range(self, origin: str, columns: list[str], span: Span) -> list[Row]:
        """The rows in ``span`` read back from the daily files of its days."""
        since, until = span.since, span.until
        first, last = _day_of(since), _day_of(until)
        rows: list[Row] = []
        for path in self._daily_files(origin):
            day = path.parent.name
            if (first is None or day >= first) and (last is None or day <= last):
                rows.extend(
                    r
                    for r in self._read(path, columns)
                    if (since is None or r.timestamp >= since)
                    and (until is None or r.timestamp < until)
                )
        rows.sort(key=lambda r: r.timestamp)  # stable: ties stay in append order
        return rows if span.limit is None else rows[: max(span.limit, 0)]

    def _prepare(self, path: Path, header: list[str]) -> bool:
        """Make ``path`` ready for lines under ``header``; True when it must be created."""
        known = self._headers.get(path)
        if known == header:
            return False
        if not path.exists():
            csvformat.make_dirs(path.parent)
            return True
        if known is None:
            csvformat.drop_partial_line(path)
            known = csvformat.read_header(path)
        if not known:
            path.unlink()  # killed before its header was complete: start again
            return True
        if known != header:
            csvformat.rewrite_header(path, header)
        return False

    def _daily_files(self, origin: str) -> list[Path]:
        """The daily files of ``origin``, oldest day first."""
        daily = self.root / "daily"
        days = sorted(p.name for p in daily.iterdir()) if daily.is_dir() else []
        return [p for d in days if (p := self.daily_path(origin, d)).is_file()]

    def _read(self, path: Path, names: Sequence[str]) -> list[Row]:
        """The rows of one file with the columns ``names`` (absent ones None)."""
        header, lines = csvformat.read_lines(path)
        wanted = [(n, header.index(n) if n in header else len(header) + 1) for n in names]
        try:
            return [csvformat.parse_row(line, wanted) for line in lines]
        except ValueError as exc:
            raise StorageError(f"{path}: {exc}") from exc

    def _load_registrations(self) -> dict[str, list[str]]:
        """Origins and columns saved by an earlier run (none in a new root)."""
        path = self.root / REGISTRATIONS
        if not path.exists():
            return {}
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return {str(k): [str(c) for c in v] for k, v in saved["origins"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StorageError(f"cannot read registrations from {path}: {exc}") from exc

    def _save_registrations(self, saved: dict[str, list[str]]) -> None:
        """Write ``registrations.json`` atomically and durably."""
        path = self.root / REGISTRATIONS
        temporary = path.with_name(path.name + ".new")
        text = json.dumps({"origins": saved}, ensure_ascii=False, indent=1)
        try:
            temporary.unlink(missing_ok=True)
            csvformat.append_text(temporary, text)
            os.replace(temporary, path)
            csvformat.fsync_dir(self.root)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise unavailable(f"cannot save {path}", exc) from exc


def _by_day(stamps: list[str]) -> dict[str, list[int]]:
    """The rows of each UTC day (``YYYYMMDD``), from their timestamp texts."""
    if not stamps:
        return {}
    first, last = min(stamps), max(stamps)  # ISO texts sort as the times do
    if first[:10] == last[:10]:  # a batch is nearly always within one day
        return {first[0:4] + first[5:7] + first[8:10]: list(range(len(stamps)))}
    days: dict[str, list[int]] = {}
    for i, stamp in enumerate(stamps):
        days.setdefault(stamp[0:4] + stamp[5:7] + stamp[8:10], []).append(i)
    return days


def _by_obsid(rows: Sequence[Sequence[Any]]) -> dict[str, list[int]]:
    """The rows of each obsid (rows without one go to no observation file)."""
    obsids = {row[2] for row in rows}
    if len(obsids) == 1:  # a batch is nearly always within one observation, or none
        (obsid,) = obsids
        return {} if obsid is None else {obsid: list(range(len(rows)))}
    found: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        if row[2] is not None:
            found.setdefault(row[2], []).append(i)
    return found


def _day_of(bound: float | None) -> str | None:
    """The UTC day of a query bound; None (no bound on files) when out of calendar range."""
    try:
        return None if bound is None else format_day(bound)
    except (OverflowError, ValueError, OSError):
        return None  # the row filter still applies the bound itself
