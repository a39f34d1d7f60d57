"""Turning command-line strings into command arguments, guided by the command's JSON Schema.

The conversion itself lives in :mod:`controlroom.device.argtext`, shared with
the pipe-command server; here its mistakes become :class:`CliError`, the one
red line the operator sees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controlroom.cli.errors import CliError
from controlroom.device import argtext
from controlroom.device.argtext import SERVICE_PARAMS
from controlroom.device.errors import ArgumentError

__all__ = ["SERVICE_PARAMS", "convert", "parse_arguments"]


def parse_arguments(
    command: str, params: Mapping[str, Any], raw: Sequence[str]
) -> tuple[list[Any], dict[str, Any]]:
    """Positional values and ``key=value`` pairs, converted by ``params`` (JSON Schema)."""
    try:
        return argtext.parse_arguments(command, params, raw)
    except ArgumentError as exc:
        raise CliError(str(exc)) from None


def convert(text: str, schema: Mapping[str, Any], name: str) -> Any:
    """``text`` as the type ``schema`` describes; a one-line error names the argument."""
    try:
        return argtext.convert(text, schema, name)
    except ArgumentError as exc:
        raise CliError(str(exc)) from None
