"""The telemetry dictionary: each HK parameter's origin, canonical name, unit, calibration, limits.

Load it with :func:`load_dictionary` (a CSV file; see :mod:`.columns` for the
columns) or :func:`shipped_dictionary` (the example for the shipped devices).
Loading validates the whole file and raises one
:class:`~.errors.DictionaryError` listing every problem with its line and
column. The delimiter is whatever the header line uses most of ``,``, ``;``
or a tab (spreadsheets in some locales write ``;``); blank lines are skipped.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from controlroom.telemetry.columns import Header, read_header
from controlroom.telemetry.errors import (
    DictionaryError,
    Problem,
    UnknownOrigin,
    UnknownParameter,
    UnknownSite,
)
from controlroom.telemetry.rows import SYNOPTICS_ORIGIN, Parameter, parse_row


class TelemetryDictionary:
    """Lookups over the parameters of one validated dictionary (immutable)."""

    def __init__(
        self, parameters: Iterable[Parameter], *, path: str = "<memory>", sites: Iterable[str] = ()
    ) -> None:
        self.path = path
        self.sites = tuple(sites)
        self._by_name = {p.name: p for p in parameters}
        self._by_original = {(p.origin, p.original): p for p in self._by_name.values()}

    def __len__(self) -> int:
        return len(self._by_name)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def parameter(self, name: str) -> Parameter:
        """The parameter with canonical ``name``."""
        try:
            return self._by_name[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._by_name, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownParameter(f"no HK parameter {name!r} in {self.path}{hint}") from None

    def by_original(self, origin: str, original: str) -> Parameter:
        """The parameter the device behind ``origin`` calls ``original``."""
        try:
            return self._by_original[(origin, original)]
        except KeyError:
            raise UnknownParameter(
                f"{origin} has no HK parameter {original!r} in {self.path}"
            ) from None

    def origin_of(self, name: str) -> str:
        """The storage mnemonic ``name`` is stored under."""
        return self.parameter(name).origin

    def origins(self) -> list[str]:
        """Every origin, in the order of the file."""
        return list(dict.fromkeys(p.origin for p in self))

    def names(self, origin: str | None = None) -> list[str]:
        """Canonical names in the order of the file, of one origin or of all."""
        return [p.name for p in self.parameters(origin)]

    def parameters(self, origin: str | None = None) -> list[Parameter]:
        """The parameters of ``origin`` (all when ``None``); an unknown origin is an error."""
        chosen = [p for p in self if origin is None or p.origin == origin]
        if origin is not None and not chosen:
            known = ", ".join(self.origins())
            raise UnknownOrigin(
                f"no parameter of origin {origin!r} in {self.path} (origins: {known})"
            )
        return chosen

    def synoptics(self, site: str) -> dict[str, str]:
        """``{SYN_name: source canonical name}`` for ``site``; empty without synoptics."""
        synoptic = [p for p in self if p.is_synoptic]
        if synoptic and site.upper() not in self.sites:
            known = ", ".join(self.sites) or "none"
            raise UnknownSite(
                f"{self.path} has no synoptics column for site {site!r} (sites: {known})"
            )
        return {
            p.name: p.synoptic_of[site.upper()] for p in synoptic if site.upper() in p.synoptic_of
        }


def load_dictionary(path: str | Path) -> TelemetryDictionary:
    """Read and validate the dictionary in ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # -sig: spreadsheets write a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise DictionaryError([Problem(str(path), None, None, f"cannot read: {exc}")]) from exc
    return parse_dictionary(text, str(path))


def shipped_dictionary_path() -> Path:
    """The example dictionary shipped for the dummy sensor and the temperature controller."""
    return Path(str(resources.files("controlroom.telemetry").joinpath("data/telemetry.csv")))


def shipped_dictionary() -> TelemetryDictionary:
    return load_dictionary(shipped_dictionary_path())


def parse_dictionary(text: str, path: str = "<text>") -> TelemetryDictionary:
    """Validate the CSV ``text``; ``path`` is what errors name."""
    problems: list[Problem] = []
    records = list(_records(text, path, problems))
    if not records:
        raise DictionaryError(
            [*problems, Problem(path, None, None, "no header line: the file is empty")]
        )
    line, cells = records[0]
    header = read_header(cells, path, line, problems)
    if problems:  # without a sound header every line would repeat the same complaint
        raise DictionaryError(problems)
    parameters = [p for n, c in records[1:] if (p := parse_row(c, header, n, problems)) is not None]
    _check_across_lines(parameters, header, problems)
    if problems:
        raise DictionaryError(sorted(problems, key=lambda p: p.line or 0))
    return TelemetryDictionary(parameters, path=path, sites=header.sites)


def _records(text: str, path: str, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with the line each starts on (a quoted cell may span lines)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.append(Problem(path, start, None, f"not valid CSV: {exc}"))


def _check_across_lines(
    parameters: list[Parameter], header: Header, problems: list[Problem]
) -> None:
    """Duplicates and synoptic sources: the checks that need the whole file."""
    names: dict[str, Parameter] = {}
    originals: dict[tuple[str, str], Parameter] = {}
    for p in parameters:
        if (first := names.setdefault(p.name, p)) is not p:
            message = f"duplicate canonical name {p.name} (first on line {first.line})"
            problems.append(Problem(header.path, p.line, header.title("name"), message))
        if (first := originals.setdefault((p.origin, p.original), p)) is not p:
            message = f"{p.origin} already has original name {p.original!r} on line {first.line}"
            problems.append(Problem(header.path, p.line, header.title("original"), message))
    for p in parameters:
        for site, source in p.synoptic_of.items():
            column = header.titles[header.sites[site]]
            fed_by = names.get(source)
            if fed_by is None:
                problems.append(
                    Problem(header.path, p.line, column, f"no parameter {source!r} here")
                )
            elif fed_by.origin == SYNOPTICS_ORIGIN:
                problems.append(
                    Problem(header.path, p.line, column, "a synoptic cannot feed another")
                )
