"""Importing a class or function named in a configuration, from allowed packages only.

A Setup is a file that many people edit and that travels through the
configuration manager, and the Settings name controllers, jobs, rules and
task modules too: naming an object in them must not be a way to run arbitrary
code. This module is the one importer behind every such name, with one policy:

- the module is checked against the allow-list *before* it is imported
  (importing runs the module), and only ``importlib`` is used;
- the object must be *defined* in an allowed package (its ``__module__``), not
  merely reachable from one: ``pkg.mod:np`` or ``pkg.mod:np.memmap`` reach
  numpy through an allowed module's own ``import numpy as np``;
- the name is ``pkg.mod:Name``, ``pkg.mod.Name`` or ``pkg.mod:Class.attr``,
  where ``Class`` is itself a class of an allowed package: no longer walk;
- no part of the name may be private (start with ``_``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, TypeGuard, TypeVar

from controlroom.config.errors import ConfigError

DEFAULT_ALLOWED_PACKAGES: tuple[str, ...] = ("controlroom.devices",)
T = TypeVar("T")


class NamedImportError(ConfigError):
    """A configuration names an object that may not, or cannot, be imported."""


def allowed_tuple(packages: Iterable[str]) -> tuple[str, ...]:
    """``packages`` as a tuple, refusing a bare string (which would allow every letter)."""
    if isinstance(packages, str):
        raise TypeError("allowed_packages must be a sequence of package names, not one string")
    result = tuple(packages)
    for name in result:
        if not isinstance(name, str) or not name or name.startswith("."):
            raise TypeError(f"allowed_packages: {name!r} is not a package name")
    return result


def split_class_path(path: str) -> tuple[str, str]:
    """``("pkg.mod", "Class")`` from ``pkg.mod:Class`` or ``pkg.mod.Class``."""
    if ":" in path:
        module_name, _, attribute = path.partition(":")
    else:
        module_name, _, attribute = path.rpartition(".")
    return module_name, attribute


def is_allowed(module_name: str, allowed: Iterable[str]) -> bool:
    """Whether ``module_name`` is one of ``allowed`` or inside one of them."""
    return any(module_name == p or module_name.startswith(p + ".") for p in allowed)


def is_defined_in(target: object, allowed: Iterable[str]) -> bool:
    """Whether ``target`` was defined by a module of an allowed package.

    A module object has no ``__module__`` and so is defined nowhere: naming
    one is always refused.
    """
    module_name = getattr(target, "__module__", None)
    return isinstance(module_name, str) and is_allowed(module_name, allowed)


def may_name_module(module_name: str, allowed: Iterable[str]) -> bool:
    """Whether a configuration may name the module ``module_name`` (to run it with
    ``python -m``, say): public names only, in an allowed package."""
    try:
        _check_module(module_name, allowed_tuple(allowed))
    except NamedImportError:
        return False
    return True


def import_module(module_name: str, allowed: Iterable[str]) -> ModuleType:
    """The module ``module_name``, imported only when it is in an allowed package."""
    _check_module(module_name, allowed_tuple(allowed))
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # an import runs module code: any failure is possible
        raise NamedImportError(
            f"cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None


def import_class(path: str, allowed: Iterable[str]) -> type:
    """The class ``path`` names, defined in an allowed package."""
    return _import_checked(path, allowed, _is_class, "class")


def import_callable(path: str, allowed: Iterable[str]) -> Callable[..., Any]:
    """The function (or other callable) ``path`` names, defined in an allowed package."""
    return _import_checked(path, allowed, _is_callable, "function")


def _is_class(found: object) -> TypeGuard[type]:
    return isinstance(found, type)


def _is_callable(found: object) -> TypeGuard[Callable[..., Any]]:
    return callable(found)


def _import_checked(
    path: str, allowed: Iterable[str], wanted: Callable[[object], TypeGuard[T]], what: str
) -> T:
    packages = allowed_tuple(allowed)
    module_name, attribute = split_class_path(path.strip())
    parts = attribute.split(".")
    form = f"of the form package.module:{what}"
    if not module_name or not attribute:
        raise NamedImportError(f"{path!r} is not {form}")
    _check_names(path, [*module_name.split("."), *parts], form)
    if len(parts) > 2:
        raise NamedImportError(f"{path!r}: at most module:Class.attribute may be named")
    target = _attribute(import_module(module_name, packages), parts[0], path)
    if len(parts) == 2:
        # Walk only into a class the allowed packages define: never through a
        # module they imported (the `np` of `mod:np.memmap`).
        _check_defined(path, target, packages)
        if not isinstance(target, type):
            raise NamedImportError(f"{path!r}: {parts[0]!r} is not a class")
        target = _attribute(target, parts[1], path)
    if not wanted(target):
        raise NamedImportError(f"{path!r} is not a {what}")
    _check_defined(path, target, packages)
    return target


def _attribute(owner: object, name: str, path: str) -> object:
    try:
        return getattr(owner, name)
    except AttributeError:
        owner_name = getattr(owner, "__name__", type(owner).__name__)
        raise NamedImportError(f"cannot import {path!r}: {owner_name!r} has no {name!r}") from None


def _check_module(module_name: str, allowed: tuple[str, ...]) -> None:
    _check_names(module_name, module_name.split("."), "a module name (package.module)")
    if not is_allowed(module_name, allowed):
        names = ", ".join(allowed) or "none"
        raise NamedImportError(f"{module_name!r} is not in an allowed package (allowed: {names})")


def _check_names(path: str, parts: list[str], form: str) -> None:
    for part in parts:
        if not part.isidentifier():
            raise NamedImportError(f"{path!r} is not {form}")
        if part.startswith("_"):
            raise NamedImportError(f"{path!r}: {part!r} is private and cannot be named")


def _check_defined(path: str, target: object, allowed: tuple[str, ...]) -> None:
    if not is_defined_in(target, allowed):
        where = getattr(target, "__module__", None)
        origin = f"defined in {where!r}" if isinstance(where, str) else "a module or value"
        raise NamedImportError(
            f"{path!r} is not defined in an allowed package ({origin}; "
            f"allowed: {', '.join(allowed) or 'none'})"
        )
