"""NavigableDict: a dict with dot access whose directive values resolve on access.

``setup.gse.tempctl.device`` and ``setup["gse"]["tempctl"]["device"]`` are the
same value. Nested mappings (also inside lists) become NavigableDicts that
remember their key path, the directory of the file they came from, the
packages ``class//``/``factory//`` may import from and the folders ``yaml//``/
``csv//`` may read from: the folder of the file (the working directory for a
dict) and the ``file_roots`` given (the configured data directories).

What resolves: ``nd[key]``, ``nd.key`` and ``nd.get(key)`` turn a directive
string (see :mod:`controlroom.config.directives`) into its value, once: the
result is memoized and made again only when the raw value or the sibling keys
it reads (``device_args``, ``device_kwargs``, ``members``) change. Everything a
plain ``dict`` does by itself (``items()``, ``values()``, iteration,
``dict(nd)``, ``**nd``, ``json.dumps``) sees the raw values, so handing a
Setup to code that expects a dict never instantiates a device by surprise.

Keys must be strings. Keys that are not identifiers, start with ``_`` or are
the names of methods (``items``, ``copy``, ``raw``, ...) work with ``[]`` only.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from controlroom.config.directives import Directive, Request, inputs_of, parse_directive, resolve
from controlroom.config.errors import ConfigError, KeyTypeError
from controlroom.config.importing import DEFAULT_ALLOWED_PACKAGES, allowed_tuple
from controlroom.config.memo import Context, MemoTable
from controlroom.config.yamlfile import read_mapping, write_mapping

if TYPE_CHECKING:
    from rich.tree import Tree


class NavigableDict(dict[str, Any]):
    """A ``dict`` with string keys, attribute access and lazily resolved directives."""

    __slots__ = ("_ctx", "_memo")
    _ctx: Context
    _memo: MemoTable

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        source_dir: str | Path | None = None,
        allowed_packages: Iterable[str] = DEFAULT_ALLOWED_PACKAGES,
        file_roots: Iterable[str | Path] = (),
    ) -> None:
        super().__init__()
        directory = Path(source_dir) if source_dir is not None else None
        roots = (directory or Path.cwd(), *roots_tuple(file_roots))
        self._setup(data, Context(directory, allowed_tuple(allowed_packages), (), roots))

    def _setup(self, data: Mapping[str, Any] | None, ctx: Context) -> None:
        self._ctx, self._memo = ctx, MemoTable()
        if data is not None and not isinstance(data, Mapping):
            raise ConfigError(f"{ctx.where()}: expected a mapping, not {type(data).__name__}")
        for key, value in (data or {}).items():
            self[key] = value

    @classmethod
    def _child(cls, data: Mapping[str, Any] | None, ctx: Context) -> NavigableDict:
        child = cls.__new__(cls)
        child._setup(data, ctx)
        return child

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        source_dir: str | Path | None = None,
        allowed_packages: Iterable[str] = DEFAULT_ALLOWED_PACKAGES,
        file_roots: Iterable[str | Path] = (),
    ) -> Self:
        """A mapping of ``data``, checked as a whole; relative directive files are in
        ``source_dir``."""
        made = cls(
            data, source_dir=source_dir, allowed_packages=allowed_packages, file_roots=file_roots
        )
        made._check_whole(None)
        return made

    @classmethod
    def from_yaml_file(
        cls,
        path: str | Path,
        *,
        allowed_packages: Iterable[str] = DEFAULT_ALLOWED_PACKAGES,
        file_roots: Iterable[str | Path] = (),
    ) -> Self:
        """The YAML file ``path`` (safe_load), checked as a whole; its directory is the
        ``source_dir``."""
        path = Path(path)
        data = read_mapping(path)
        try:
            made = cls(
                data,
                source_dir=path.parent,
                allowed_packages=allowed_packages,
                file_roots=file_roots,
            )
        except KeyTypeError as exc:
            raise KeyTypeError(f"{path}: {exc}") from None
        made._check_whole(path)
        return made

    def _check_whole(self, source: Path | None) -> None:
        """Refuse what this kind of mapping cannot be made of (read from ``source``);
        a plain NavigableDict takes any mapping."""

    def to_yaml_file(self, path: str | Path) -> None:
        """Write the raw values to ``path``: directives are written as the strings they are."""
        write_mapping(Path(path), self.to_dict())

    def to_dict(self, resolve: bool = False) -> dict[str, Any]:
        """Plain nested dicts and lists: raw values, or with every directive resolved."""
        if not resolve:
            return {key: _plain(value) for key, value in self.items()}
        return {key: _plain(self[key], resolve=True) for key in self}

    def _check_key(self, key: object) -> None:
        if not isinstance(key, str):
            # YAML 1.1 reads unquoted on/off/yes/no as booleans: a common surprise.
            hint = ", YAML reads unquoted on/off/yes/no as booleans" if type(key) is bool else ""
            raise KeyTypeError(
                f"{self._ctx.where()}: key {key!r} is a {type(key).__name__}, keys must be "
                f"strings (quote it in YAML{hint})"
            )

    def _missing(self, key: str) -> KeyError:
        return KeyError(f"{self._ctx.where()} has no key {key!r}")

    def raw(self, key: str) -> Any:
        """The value of ``key`` as stored, directives unresolved."""
        self._check_key(key)
        if key not in self:
            raise self._missing(key)
        return super().__getitem__(key)

    get_raw_value = raw

    def __getitem__(self, key: str) -> Any:
        raw = self.raw(key)
        directive = parse_directive(raw)
        return raw if directive is None else self._resolved(key, raw, directive)

    def get(self, key: str, default: Any = None) -> Any:
        """``self[key]`` (resolved) when present, else ``default``."""
        self._check_key(key)
        return self[key] if key in self else default  # noqa: SIM401 (dict.get reads raw)

    def __setitem__(self, key: str, value: Any) -> None:
        self._check_key(key)
        super().__setitem__(key, self._adopt(key, value))
        self._memo.forget(key)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise self._missing(key)
        super().__delitem__(key)
        self._memo.forget(key)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Like ``dict.update``, through ``__setitem__`` (key checks, nested conversion)."""
        for key, value in dict(other, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> NavigableDict:  # type: ignore[override,misc]
        self.update(other)
        return self

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def copy(self) -> NavigableDict:
        """A shallow copy keeping the source directory and allow-list."""
        return type(self)._child(self, self._ctx)

    __copy__ = copy

    def __deepcopy__(self, memo: dict[int, Any]) -> NavigableDict:
        return type(self)._child(copy.deepcopy(self.to_dict(), memo), self._ctx)

    def _adopt(self, key: str, value: Any) -> Any:
        """``value`` as stored under ``key``: plain mappings become NavigableDicts."""
        if isinstance(value, NavigableDict):
            # Copied so that this Setup's allow-list and key path govern it too; it
            # keeps its own source_dir and file roots, as its files are next to its file.
            ctx = replace(
                value._ctx, allowed_packages=self._ctx.allowed_packages, path=(*self._ctx.path, key)
            )
            return type(self)._child(value, ctx)
        if isinstance(value, Mapping):
            return type(self)._child(value, self._ctx.child(key))
        if isinstance(value, list) and any(isinstance(item, Mapping | list) for item in value):
            return [self._adopt(f"{key}[{index}]", item) for index, item in enumerate(value)]
        return value

    def _resolved(self, key: str, raw: str, directive: Directive) -> Any:
        inputs = tuple(_plain(dict.get(self, name)) for name in inputs_of(directive))
        request = Request(
            directive=directive,
            path=(*self._ctx.path, key),
            siblings=self,
            source_dir=self._ctx.source_dir,
            allowed_packages=self._ctx.allowed_packages,
            file_roots=self._ctx.file_roots,
            load_yaml=self._load_yaml,
        )
        return self._memo.value(key, raw, inputs, lambda: resolve(request))

    def _load_yaml(self, path: Path, key_path: tuple[str, ...]) -> NavigableDict:
        """The ``yaml//`` file ``path``, placed at ``key_path``, its files relative to it."""
        ctx = replace(self._ctx, source_dir=path.parent, path=key_path)
        try:
            return type(self)._child(read_mapping(path), ctx)
        except KeyTypeError as exc:
            raise KeyTypeError(f"{path}: {exc}") from None

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails; `_` names (dunders probed by copy,
        # pickle, IPython, ...) are never keys, which also avoids recursion in __init__.
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self:
            raise AttributeError(f"{self._ctx.where()} has no key {name!r}")
        return self[name]

    def __setattr__(self, name: str, value: Any) -> None:
        if name in NavigableDict.__slots__:
            object.__setattr__(self, name, value)
        elif name.startswith("_") or hasattr(type(self), name):
            raise AttributeError(f"{name!r} cannot be set as an attribute; use [{name!r}] = ...")
        else:
            self[name] = value

    def __delattr__(self, name: str) -> None:
        if name not in self:
            raise AttributeError(f"{self._ctx.where()} has no key {name!r}")
        del self[name]

    def __dir__(self) -> list[str]:
        keys = [k for k in self if k.isidentifier() and not k.startswith("_")]
        return sorted({*super().__dir__(), *keys})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"

    def tree(self) -> Tree:
        """A ``rich.tree.Tree`` of the raw values, for ``rich.print``."""
        from controlroom.config.tree import build_tree

        return build_tree(self, ".".join(self._ctx.path) or type(self).__name__)

    __rich__ = tree

    def pretty_str(self, width: int = 100) -> str:
        """The tree as plain text, for logs and terminals without Rich."""
        from controlroom.config.tree import render

        return render(self.tree(), width)


def roots_tuple(folders: Iterable[str | Path]) -> tuple[Path, ...]:
    """``folders`` as paths, refusing a bare string (which would be taken letter by letter)."""
    if isinstance(folders, str | Path):
        raise TypeError("file_roots must be a sequence of folders, not one folder")
    roots: list[Path] = []
    for folder in folders:
        if not str(folder):  # Path("") is the working directory: never by accident
            raise TypeError("file_roots: an empty folder name is not a folder")
        roots.append(Path(folder).expanduser())
    return tuple(roots)


def _plain(value: Any, resolve: bool = False) -> Any:
    """``value`` with every NavigableDict turned into a new plain dict (lists copied)."""
    if isinstance(value, NavigableDict):
        return value.to_dict(resolve)
    if isinstance(value, list):
        return [_plain(item, resolve) for item in value]
    return value
