"""Functions made at run time with a given signature, for commands declared from data.

A command table, a PyMeasure or a QCoDeS instrument describes its commands as
data; ``@command`` reads a command's arguments from a function's signature and
type hints. :func:`signed` makes that function: the body to run, with the
signature and hints the data gives, so the command is validated, described
and served like a hand-written one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from controlroom.device.errors import DeclarationError
from controlroom.device.validators import Validator


@dataclass(frozen=True)
class Argument:
    """One argument of a synthesized command: its type, its checks, its default."""

    name: str
    annotation: Any = Any
    validators: tuple[Validator, ...] = ()
    default: Any = inspect.Parameter.empty
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def check(self, value: Any) -> Any:
        """``value`` through every check in turn (ValueError if one refuses it)."""
        for validator in self.validators:
            value = validator(value)
        return value

    @property
    def hint(self) -> Any:
        """The annotation with the checks riding on it, as a hand-written declaration has them."""
        if not self.validators:
            return self.annotation
        return Annotated[(self.annotation, *self.validators)]


def signed(
    name: str,
    body: Callable[..., Any],
    arguments: Sequence[Argument],
    returns: Any,
    doc: str,
) -> Callable[..., Any]:
    """``body`` (called as ``body(owner, **arguments)``) under ``name`` with that signature."""

    def command(self: Any, **kwargs: Any) -> Any:
        return body(self, **kwargs)

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter("self", kind)]
    for arg in arguments:
        parameters.append(
            inspect.Parameter(arg.name, kind, default=arg.default, annotation=arg.hint)
        )
    try:
        command.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    except ValueError as exc:  # a duplicate, or a required argument after an optional one
        raise DeclarationError(f"{name}: {exc}") from None
    command.__annotations__ = {arg.name: arg.hint for arg in arguments} | {"return": returns}
    command.__name__ = command.__qualname__ = name
    command.__doc__ = doc
    return command
