"""The Setup: a versioned NavigableDict describing the equipment in use.

A Setup is the content (devices, calibrations, tables: anything the test
engineers put in it) plus its metadata, kept in the same mapping under the
reserved key ``_meta`` so that the YAML file, the dict sent over the wire and
the object are the same data::

    _meta:
      id: 42
      site: LAB
      description: New calibration of the TCS sensors
      created: '2025-01-31T09:12:44.120+00:00'
      derived_from: 41
    gse:
      tempctl:
        device: class//controlroom.devices.tempctl.TempCtlController

``id``, ``site`` and ``created`` are filled in by the configuration manager
when the Setup is submitted; a Setup made by hand has none yet. Keys starting
with ``_`` are only reachable with ``[]``, so ``_meta`` never collides with a
user's key; ``setup.meta`` gives the metadata as a :class:`SetupMeta`.

Files of submitted Setups are named ``SETUP_<SITE>_<NNNNN>.yaml``.

A Setup is bounded in size (:data:`DEFAULT_MAX_SETUP_BYTES`, the Settings'
``services.confman.max_setup_bytes`` for the configuration manager): a larger
one is refused before it is parsed or converted, so it cannot tie up the
process that receives it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Self

from controlroom.config.errors import ConfigError
from controlroom.config.navdict import NavigableDict

META_KEY = "_meta"
DEFAULT_MAX_SETUP_BYTES = 1024 * 1024
"""The largest Setup accepted, in bytes of its YAML text: a thousand times the shipped
demo Setup, and still converted and committed in about a second."""
_FILE_NAME = re.compile(r"^SETUP_(?P<site>[A-Za-z0-9-]+)_(?P<number>\d{5,})\.yaml$")


class SetupError(ConfigError):
    """A Setup's metadata (``_meta``) is malformed."""


class SetupTooLarge(SetupError):
    """A Setup is larger than the configured maximum."""

    @classmethod
    def of(cls, size: int | str, max_bytes: int, where: str = "") -> SetupTooLarge:
        """The refusal of a Setup of ``size`` bytes (``where``: the file, if any)."""
        return cls(
            f"{where}{': ' if where else ''}the Setup has {size} bytes, the maximum is "
            f"{max_bytes} (services.confman.max_setup_bytes); keep large tables in files "
            "it names"
        )


@dataclass(frozen=True)
class SetupMeta:
    """Who a Setup is: id and site (once submitted), description, creation time, parent."""

    id: int | None = None
    site: str | None = None
    description: str = ""
    created: str | None = None  # UTC, ISO 8601
    derived_from: int | None = None

    @classmethod
    def from_raw(cls, raw: Any) -> SetupMeta:
        """Check the ``_meta`` mapping of a file or message; unknown keys are refused."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise SetupError(f"{META_KEY} must be a mapping, not {type(raw).__name__}")
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise SetupError(f"{META_KEY}: unknown keys {sorted(map(str, unknown))}")
        meta = cls(**dict(raw))
        meta._check()
        return meta

    def _check(self) -> None:
        for name, expected in (("id", int), ("derived_from", int)):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, expected)):
                raise SetupError(f"{META_KEY}.{name} must be an integer, not {value!r}")
        for name in ("site", "created"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise SetupError(f"{META_KEY}.{name} must be a string, not {value!r}")
        if not isinstance(self.description, str):
            raise SetupError(f"{META_KEY}.description must be a string")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Setup(NavigableDict):
    """A NavigableDict whose ``_meta`` key holds its :class:`SetupMeta`."""

    __slots__ = ()

    @classmethod
    def _child(cls, data: Mapping[str, Any] | None, ctx: Any) -> NavigableDict:
        # Only the root is a Setup: nested mappings are plain NavigableDicts.
        if ctx.path:
            return NavigableDict._child(data, ctx)
        return super()._child(data, ctx)

    @classmethod
    def from_yaml_file(
        cls, path: str | Path, *, max_bytes: int = DEFAULT_MAX_SETUP_BYTES, **options: Any
    ) -> Self:
        """The Setup in the YAML file ``path``, as :meth:`NavigableDict.from_yaml_file` reads
        it with ``options``; a file larger than ``max_bytes`` is refused before it is read."""
        _check_file_size(Path(path), max_bytes)
        return super().from_yaml_file(path, **options)

    def _check_whole(self, source: Path | None) -> None:
        """The ``_meta`` must be well formed (the error names the file it came from)."""
        try:
            self.meta  # noqa: B018 - read to check it
        except SetupError as exc:
            raise SetupError(f"{source}: {exc}" if source else str(exc)) from None

    def to_dict(self, resolve: bool = False) -> dict[str, Any]:
        """Plain data, ``_meta`` first when there is one (as in the files)."""
        data = super().to_dict(resolve)
        if META_KEY not in data:
            return data
        return {META_KEY: data.pop(META_KEY), **data}

    @property
    def meta(self) -> SetupMeta:
        """The metadata; empty for a Setup that was never submitted."""
        return SetupMeta.from_raw(dict.get(self, META_KEY))

    def content(self) -> dict[str, Any]:
        """The raw content without ``_meta``: what two Setups are compared on."""
        data = self.to_dict()
        data.pop(META_KEY, None)
        return data

    def stamped(self, meta: SetupMeta) -> Setup:
        """A copy of this Setup with ``meta`` as its metadata."""
        meta._check()
        copy = type(self)._child({META_KEY: meta.to_dict(), **self.content()}, self._ctx)
        assert isinstance(copy, Setup)
        return copy


def check_setup_size(data: Any, max_bytes: int) -> None:
    """Refuse ``data`` when its YAML text would be larger than ``max_bytes``.

    Counted without writing the YAML, from the keys and values (a lower bound:
    indentation and quotes are left out), and given up as soon as the count
    passes the limit: a huge Setup costs no more than ``max_bytes`` of it.
    """
    total, stack = 0, [data]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            total += sum(_scalar_bytes(key) + 2 for key in item)  # "key: "
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            total += 2 * len(item)  # "- "
            stack.extend(item)
        else:
            total += _scalar_bytes(item)
        if total > max_bytes:
            raise SetupTooLarge.of(f"more than {max_bytes}", max_bytes)


def _scalar_bytes(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 4
    if isinstance(value, int):
        return value.bit_length() // 4 + 1  # fewer than its decimal digits
    nbytes = getattr(value, "nbytes", None)  # an array: its repr would be abridged
    return nbytes if isinstance(nbytes, int) else len(str(value))


def _check_file_size(path: Path, max_bytes: int) -> None:
    try:
        size = os.stat(path).st_size
    except OSError:
        return  # reading it says why, with the path
    if size > max_bytes:
        raise SetupTooLarge.of(size, max_bytes, str(path))


def setup_file_name(site: str, setup_id: int) -> str:
    """``SETUP_LAB_00042.yaml``: where the configuration manager keeps Setup 42 of LAB."""
    return f"SETUP_{site}_{setup_id:05d}.yaml"


def parse_setup_file_name(name: str) -> tuple[str, int] | None:
    """The site and id in a Setup file name, or None when ``name`` is not one."""
    match = _FILE_NAME.match(name)
    return None if match is None else (match["site"], int(match["number"]))
