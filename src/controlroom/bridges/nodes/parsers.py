"""DATA lines by node type: small parsers, found in a registry by the node's type.

A parser knows the DATA kinds of one node type and the fields of each; it
turns a :class:`~.grammar.Data` line into the values of one stored row. A
kind its node type's parser does not know, or a node type with no parser, is
*raw*: the line is counted (and streamed) but not stored. A line of a known
kind whose fields do not fit is malformed (a :class:`LineError`).

Shipped parsers, after the COSMICi nodes:

* ``fedm`` (front-end digitiser: photomultiplier pulses)::

      DATA PULSE <t_ns> <channel 0-15> <width_ns> [<amplitude_mv>]

* ``ctu`` (central timing unit: GPS pulse-per-second edges)::

      DATA TICK <t_ns> <seq> <offset_ns>

Register another with ``registry.register(FieldParser("mytype", {...}))``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from controlroom.bridges.nodes.errors import LineError, NodeBridgeError
from controlroom.bridges.nodes.grammar import Data, Scalar, fits_int64, pairs

PROVENANCE = ("node", "node_type", "t_ns")
"""Columns every data row carries besides its fields; no field may take these names."""


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a DATA line: its column name, how to read it, its allowed range."""

    name: str
    convert: Callable[[str], Scalar] = int
    low: float | None = None
    high: float | None = None
    required: bool = True

    def read(self, word: str) -> Scalar:
        try:
            value = self.convert(word)
        except ValueError:
            kind = getattr(self.convert, "__name__", "value")
            raise LineError(f"{self.name} {word!r} is not a valid {kind}") from None
        if isinstance(value, int) and not fits_int64(value):
            raise LineError(f"{self.name} {word[:24]!r} is beyond a 64-bit integer")
        if isinstance(value, float) and not math.isfinite(value):
            raise LineError(f"{self.name} {word!r} is not a finite number")
        if isinstance(value, int | float) and not _within(value, self.low, self.high):
            raise LineError(f"{self.name} {value} is outside [{self.low}, {self.high}]")
        return value


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


class FieldParser:
    """The DATA kinds of node type ``node_type``, each a sequence of :class:`Field`."""

    def __init__(self, node_type: str, kinds: Mapping[str, Sequence[Field]]) -> None:
        self.node_type = node_type
        self.kinds = {kind.upper(): tuple(fields) for kind, fields in kinds.items()}
        for kind, fields in self.kinds.items():
            names = [f.name for f in fields]
            pairs([f"{name}=0" for name in names], f"{node_type} {kind} fields")  # valid keys
            clash = set(names) & set(PROVENANCE)
            if clash or len(set(names)) != len(names):
                raise NodeBridgeError(f"{node_type} {kind}: field names clash: {names}")
            optional = [f.required for f in fields]
            if optional != sorted(optional, reverse=True):
                raise NodeBridgeError(f"{node_type} {kind}: optional fields must come last")

    def parse(self, data: Data) -> dict[str, Scalar] | None:
        """The row values of ``data`` (its fields); None when the kind is not known here."""
        fields = self.kinds.get(data.kind)
        if fields is None:
            return None
        words = data.fields
        required = sum(1 for f in fields if f.required)
        if not required <= len(words) <= len(fields):
            expected = " ".join(f"<{f.name}>" if f.required else f"[{f.name}]" for f in fields)
            raise LineError(f"DATA {data.kind} needs <t_ns> {expected}, got {len(words)} fields")
        return {f.name: f.read(word) for f, word in zip(fields, words, strict=False)}


class ParserRegistry:
    """Parsers by node type; a node type without one sends only raw DATA lines."""

    def __init__(self, parsers: Sequence[FieldParser] = ()) -> None:
        self._parsers: dict[str, FieldParser] = {}
        for parser in parsers:
            self.register(parser)

    def register(self, parser: FieldParser) -> None:
        """Use ``parser`` for its node type from now on (replacing any other)."""
        self._parsers[parser.node_type.lower()] = parser

    def get(self, node_type: str) -> FieldParser | None:
        return self._parsers.get(node_type)

    def types(self) -> dict[str, list[str]]:
        """Node type → the DATA kinds its parser stores."""
        return {t: sorted(p.kinds) for t, p in sorted(self._parsers.items())}


FEDM = FieldParser(
    "fedm",
    {
        "PULSE": (
            Field("channel", int, 0, 15),
            Field("width_ns", int, 0, 1e9),
            Field("amplitude_mv", float, required=False),
        )
    },
)
CTU = FieldParser(
    "ctu",
    {"TICK": (Field("seq", int, 0), Field("offset_ns", int, -1e9, 1e9))},
)


def default_parsers() -> ParserRegistry:
    """A new registry with the shipped parsers (``fedm``, ``ctu``)."""
    return ParserRegistry([FEDM, CTU])
