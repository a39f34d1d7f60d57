"""``@building_block``: a test-script function that changes the system, called explicitly.

::

    @building_block
    def warm_up(*, output: int, target: float, rate: float) -> None:
        "Ramp an output to a temperature."
        tempctl.ramp_to(output, target, rate)

    with observation("Warm up"):
        warm_up(output=1, target=293.0, rate=2.0)

Rules, checked when the module is imported:

* every argument is keyword-only (after ``*``) and has no default in the
  signature: the only defaults are those of the YAML file next to the module
  (see :mod:`controlroom.obs.defaults`), which the test facility controls.

and at each call:

* arguments are given by name; a positional one, an unknown one or a missing
  one (without a YAML default) is refused, naming it, before anything runs;
* the call runs inside an observation (:func:`~controlroom.obs.observation`,
  :func:`~controlroom.obs.execute`) or a dry run
  (:func:`~controlroom.obs.generate_command_sequence`);
* a building block called from another one must be declared
  ``@building_block(nested=True)``; recursion is always refused;
* the call is journaled (see :mod:`controlroom.obs.block_journal`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, Generic, TypeVar, overload

from controlroom.obs import block_journal
from controlroom.obs.defaults import defaults_file, load_defaults
from controlroom.obs.errors import CallError, DefinitionError, NestingError, NotInObservation
from controlroom.obs.observation import CURRENT

R = TypeVar("R")

# The building blocks running in this context, outermost first.
_RUNNING: ContextVar[tuple[BuildingBlock[Any], ...]] = ContextVar(
    "controlroom_building_blocks", default=()
)


class BuildingBlock(Generic[R]):
    """A function wrapped by :func:`building_block`; call it with keyword arguments only."""

    def __init__(self, func: Callable[..., R], *, nested: bool = False) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.name: str = func.__name__
        self.nested = nested
        self.parameters = _keyword_only_parameters(func)
        self._names = frozenset(self.parameters)
        self.defaults: Mapping[str, Any] = MappingProxyType(load_defaults(func, self.parameters))

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        if args:
            raise CallError(f"{self.name}() takes keyword arguments only: {self._example()}")
        arguments = self.arguments(kwargs)
        current = CURRENT.get()
        if current is None:
            raise NotInObservation(
                f"{self.name}() is a building block: run it inside an observation "
                f"(with observation(...):) or through execute({self.name}, ...)"
            )
        running = _RUNNING.get()
        if running:
            self._check_nesting(running)
        token = _RUNNING.set((*running, self))
        entry = block_journal.opened(self.name, arguments, current.obsid, current.dry_run)
        current.journal.append(entry)
        try:
            result = self.func(**arguments)
        except BaseException as exc:
            block_journal.closed(entry, exc)
            raise
        finally:
            _RUNNING.reset(token)
        block_journal.closed(entry, None)
        return result

    def arguments(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments of a call: ``given`` over the YAML defaults; refuses any gap."""
        if not self._names.issuperset(given):
            unknown = ", ".join(repr(n) for n in given if n not in self._names)
            known = ", ".join(self.parameters) or "none"
            raise CallError(f"{self.name}() got unknown argument(s) {unknown} (arguments: {known})")
        if len(given) == len(self.parameters):
            return dict(given)
        missing = [n for n in self.parameters if n not in given and n not in self.defaults]
        if missing:
            names = ", ".join(repr(n) for n in missing)
            raise CallError(
                f"{self.name}() missing argument(s) {names}: a building block takes every "
                f"argument by name ({self._example()}) unless {self._defaults_hint()} gives it"
            )
        return {**self.defaults, **given}

    def _check_nesting(self, running: tuple[BuildingBlock[Any], ...]) -> None:
        if self in running:
            chain = " -> ".join(b.name for b in (*running, self))
            raise NestingError(f"building blocks cannot call themselves: {chain}")
        if not self.nested:
            raise NestingError(
                f"{self.name}() was called from building block {running[-1].name}(); "
                f"declare it @building_block(nested=True) to allow that"
            )

    def _example(self) -> str:
        return f"{self.name}({', '.join(f'{n}=...' for n in self.parameters)})"

    def _defaults_hint(self) -> str:
        path = defaults_file(self.func)
        where = path.name if path is not None else "<module>.yaml"
        return f"the {self.name!r} section of {where}"

    def __repr__(self) -> str:
        nested = ", nested" if self.nested else ""
        return f"<building block {self.func.__module__}.{self.func.__qualname__}{nested}>"


_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _keyword_only_parameters(func: Callable[..., Any]) -> tuple[str, ...]:
    names = []
    for param in inspect.signature(func).parameters.values():
        if param.kind in _VARIADIC:
            stars = "*" if param.kind is inspect.Parameter.VAR_POSITIONAL else "**"
            raise DefinitionError(
                f"building block {func.__name__}: {stars}{param.name} is not allowed; "
                f"every argument is named in the signature"
            )
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise DefinitionError(
                f"building block {func.__name__}: argument {param.name!r} must be keyword-only "
                f"(declare the arguments after *: def {func.__name__}(*, {param.name}, ...))"
            )
        if param.default is not inspect.Parameter.empty:
            raise DefinitionError(
                f"building block {func.__name__}: argument {param.name!r} has a default in the "
                f"signature; callers give every argument, and shared defaults go in the "
                f"{func.__name__!r} section of the module's YAML file"
            )
        names.append(param.name)
    return tuple(names)


@overload
def building_block(func: Callable[..., R], /) -> BuildingBlock[R]: ...


@overload
def building_block(*, nested: bool = False) -> Callable[[Callable[..., R]], BuildingBlock[R]]: ...


def building_block(
    func: Callable[..., R] | None = None, /, *, nested: bool = False
) -> BuildingBlock[R] | Callable[[Callable[..., R]], BuildingBlock[R]]:
    """Make ``func`` a building block; ``@building_block(nested=True)`` lets others call it."""
    if func is not None:
        return BuildingBlock(func)

    def decorate(inner: Callable[..., R]) -> BuildingBlock[R]:
        return BuildingBlock(inner, nested=nested)

    return decorate


def is_building_block(candidate: object) -> bool:
    """True for a function decorated with :func:`building_block`."""
    return isinstance(candidate, BuildingBlock)
