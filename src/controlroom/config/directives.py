"""Setup directives: string values of the form ``"<kind>//<arg>"`` resolved on access.

=============  ==============================================================
``class//``    ``class//pkg.mod.Class`` (or ``pkg.mod:Class``): an instance,
               made as ``Class(*device_args, **device_kwargs)`` from the sibling
               keys ``device_args`` (a list) and ``device_kwargs`` (a mapping).
``factory//``  ``factory//pkg.mod.Factory``: ``Factory().create(**device_args)``
               with ``device_args`` a mapping.
``yaml//``     ``yaml//file.yaml``: the file loaded as a NavigableDict.
``csv//``      ``csv//file.csv``: a 2-D float numpy array (rows x columns); one
               non-numeric header line is skipped, ``#`` starts a comment.
``int_enum//`` ``int_enum//Name``: an ``enum.IntEnum`` called ``Name`` (when
               empty: the key of the enclosing mapping) whose members are in
               the sibling key ``members``: a mapping ``NAME: int`` (repeated
               values are aliases) or a list of names, numbered from 0.
``env//``      ``env//VAR``: the environment variable (a string); unset is an error.
=============  ==============================================================

Relative file names are relative to the directory of the file holding the
directive (``source_dir``), or the working directory for a Setup built from a
dict. A Setup travels through the configuration manager and is read by every
process, so a file it names must be inside its *file roots*: the folder of the
Setup's own file (or that working directory) and the configured data
directories. The path is resolved, symbolic links included, before it is
checked, so neither ``..``, an absolute path nor a link leads out of them; and
a file is at most :data:`MAX_FILE_BYTES` long. A refusal never quotes the file.

``class//`` and ``factory//`` take only classes defined in allowed packages
(see :mod:`controlroom.config.importing`). A directive is only recognised as a
mapping value; every failure is a :class:`DirectiveError` whose message starts
with the full key path.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlroom.config.confine import PathOutsideRoot, UnresolvablePath, resolve_inside
from controlroom.config.errors import ConfigError, DirectiveError
from controlroom.config.importing import NamedImportError, import_class
from controlroom.config.tables import load_numeric_csv

# Calibration tables and sub-Setups are small; anything larger is a mistake or an attack.
MAX_FILE_BYTES = 4 * 1024 * 1024

# A lower-case word right before `//`: `tcp://host` and `C://x` are not directives.
_DIRECTIVE = re.compile(r"([a-z][a-z0-9_]*)//(.*)", re.DOTALL)


@dataclass(frozen=True)
class Directive:
    """A parsed ``kind//arg`` string."""

    kind: str
    arg: str


def parse_directive(value: object) -> Directive | None:
    """The directive in ``value``, or None when it is not a directive string."""
    if not isinstance(value, str):
        return None
    match = _DIRECTIVE.fullmatch(value)
    return Directive(match[1], match[2].strip()) if match else None


@dataclass(frozen=True)
class Request:
    """Everything a resolver may use: the directive and where it sits."""

    directive: Directive
    path: tuple[str, ...]  # key path of the value holding the directive
    siblings: Mapping[str, Any]  # the mapping that holds it (directive-resolving access)
    source_dir: Path | None
    allowed_packages: tuple[str, ...]
    file_roots: tuple[Path, ...]  # the folders yaml// and csv// files may be in
    load_yaml: Callable[[Path, tuple[str, ...]], Any]

    @property
    def key_path(self) -> str:
        return ".".join(self.path)

    def sibling_path(self, key: str) -> str:
        return ".".join((*self.path[:-1], key))

    def fail(self, message: str) -> DirectiveError:
        return DirectiveError(f"{self.key_path}: {message}")


def _construct(req: Request, factory: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """Call ``factory``, turning its failure into a DirectiveError naming the key."""
    name = getattr(factory, "__qualname__", repr(factory))
    try:
        return factory(*args, **kwargs)
    except Exception as exc:  # a driver constructor may raise anything
        raise req.fail(f"{name}() failed: {type(exc).__name__}: {exc}") from exc


def _list_sibling(req: Request, key: str) -> list[Any]:
    value = req.siblings.get(key)
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise DirectiveError(f"{req.sibling_path(key)}: must be a list, not {type(value).__name__}")
    return list(value)


def _mapping_sibling(req: Request, key: str) -> dict[str, Any]:
    value = req.siblings.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DirectiveError(
            f"{req.sibling_path(key)}: must be a mapping, not {type(value).__name__}"
        )
    return {k: value[k] for k in value}  # item access resolves directives inside


def _named_class(req: Request) -> type:
    try:
        return import_class(req.directive.arg, req.allowed_packages)
    except NamedImportError as exc:
        raise req.fail(str(exc)) from None


def _resolve_class(req: Request) -> Any:
    cls = _named_class(req)
    args, kwargs = _list_sibling(req, "device_args"), _mapping_sibling(req, "device_kwargs")
    return _construct(req, cls, args, kwargs)


def _resolve_factory(req: Request) -> Any:
    cls = _named_class(req)
    kwargs = _mapping_sibling(req, "device_args")
    create = getattr(_construct(req, cls, (), {}), "create", None)
    if not callable(create):
        raise req.fail(f"factory {cls.__qualname__} has no create() method")
    return _construct(req, create, (), kwargs)


def _file(req: Request) -> Path:
    """The file the directive names, resolved, inside the file roots and not too large."""
    if not req.directive.arg:
        raise req.fail(f"{req.directive.kind}// needs a file name")
    named = (req.source_dir or Path.cwd()) / req.directive.arg  # an absolute name stays one
    path = _confined(req, named)
    if not path.is_file():
        raise req.fail(f"no file {named}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise req.fail(f"{_text(req)}: {size} bytes, more than the limit of {MAX_FILE_BYTES} bytes")
    return path


def _confined(req: Request, named: Path) -> Path:
    """``named`` resolved, refused unless inside a file root (see `resolve_inside`)."""
    try:
        return resolve_inside(named, req.file_roots)
    except UnresolvablePath as exc:
        raise req.fail(
            f"{_text(req)}: not a usable file name ({type(exc.cause).__name__})"
        ) from None
    except PathOutsideRoot as exc:
        raise req.fail(
            f"{_text(req)}: outside the folders directive files may come from ({exc.listed_roots})"
        ) from None


def _text(req: Request) -> str:
    return f"{req.directive.kind}//{req.directive.arg}"


def _resolve_yaml(req: Request) -> Any:
    try:
        return req.load_yaml(_file(req), req.path)
    except DirectiveError:
        raise
    except ConfigError as exc:
        raise req.fail(str(exc)) from exc


def _resolve_csv(req: Request) -> Any:
    path = _file(req)
    try:
        return load_numeric_csv(path, MAX_FILE_BYTES)
    except ConfigError as exc:
        raise req.fail(str(exc)) from exc


def _resolve_env(req: Request) -> str:
    name = req.directive.arg
    if not name:
        raise req.fail("env// needs a variable name")
    value = os.environ.get(name)
    if value is None:
        raise req.fail(f"environment variable {name!r} is not set")
    return value


def _enum_pairs(req: Request) -> list[tuple[str, int]]:
    members = req.siblings.get("members")
    if isinstance(members, Mapping):
        pairs = list(members.items())
    elif isinstance(members, list):
        pairs = [(name, number) for number, name in enumerate(members)]
    else:
        where = req.sibling_path("members")
        raise DirectiveError(f"{where}: int_enum// needs a mapping NAME: int or a list of names")
    for name, number in pairs:
        if not (isinstance(name, str) and name.isidentifier() and not name.startswith("_")):
            raise DirectiveError(f"{req.sibling_path('members')}: {name!r} is not a member name")
        if not isinstance(number, int) or isinstance(number, bool):
            raise DirectiveError(f"{req.sibling_path('members')}.{name}: {number!r} is not an int")
    if not pairs:
        raise DirectiveError(f"{req.sibling_path('members')}: int_enum// needs members")
    return pairs


def _resolve_int_enum(req: Request) -> type[enum.IntEnum]:
    name = req.directive.arg or (req.path[-2] if len(req.path) > 1 else req.path[-1])
    if not name.isidentifier():
        raise req.fail(f"{name!r} is not a valid enum name")
    try:
        return enum.IntEnum(name, _enum_pairs(req))  # type: ignore[return-value]
    except (TypeError, ValueError) as exc:  # e.g. a name repeated in a list
        raise req.fail(f"cannot build enum {name}: {exc}") from exc


# kind -> (resolver, the sibling keys it reads: a change to those makes it resolve again)
_KINDS: dict[str, tuple[Callable[[Request], Any], tuple[str, ...]]] = {
    "class": (_resolve_class, ("device_args", "device_kwargs")),
    "factory": (_resolve_factory, ("device_args",)),
    "yaml": (_resolve_yaml, ()),
    "csv": (_resolve_csv, ()),
    "int_enum": (_resolve_int_enum, ("members",)),
    "env": (_resolve_env, ()),
}

KINDS: tuple[str, ...] = tuple(sorted(_KINDS))


def inputs_of(directive: Directive) -> tuple[str, ...]:
    """The sibling keys whose values feed ``directive`` (empty for unknown kinds)."""
    entry = _KINDS.get(directive.kind)
    return entry[1] if entry else ()


def resolve(req: Request) -> Any:
    """The value ``req.directive`` stands for."""
    entry = _KINDS.get(req.directive.kind)
    if entry is None:
        known = ", ".join(f"{k}//" for k in KINDS)
        raise req.fail(f"unknown directive {req.directive.kind}// (known: {known})")
    return entry[0](req)
