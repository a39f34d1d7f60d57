"""The git repository of Setups: submit, list, get and compare versioned Setups.

Layout: one folder per site, one file per Setup (``LAB/SETUP_LAB_00042.yaml``),
one commit per submit with the description as its message. Ids count up per
site, so sites that share a remote never compete for an id.

Submitting is serialised by an ``fcntl`` lock on a file next to the
repository (``.<name>.lock``), so threads and processes get distinct ids. A
submit writes a marker, writes the file atomically (temporary file, fsync,
rename), commits, and removes the marker. A marker found by the next holder
of the lock means the previous one was killed mid-submit, and the repository
recovers first (:mod:`~controlroom.services.confman.recovery`). Readers look
at the last commit only, so they never see a half-written Setup, and may run
while a submit is in progress.

A submitted Setup larger than ``max_setup_bytes`` is refused before it is
converted; committed files are parsed with the bounded YAML loader.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from controlroom.config.errors import ConfigError
from controlroom.config.filelock import file_lock
from controlroom.config.importing import DEFAULT_ALLOWED_PACKAGES
from controlroom.config.setup import (
    DEFAULT_MAX_SETUP_BYTES,
    META_KEY,
    Setup,
    SetupMeta,
    SetupTooLarge,
    check_setup_size,
    parse_setup_file_name,
    setup_file_name,
)
from controlroom.config.yamlfile import dump_yaml, load_yaml
from controlroom.services.confman import compare, gitstore, recovery
from controlroom.services.confman.errors import InvalidSetup, RepositoryError, UnknownSetup
from controlroom.services.confman.observations import utc_now
from controlroom.services.confman.statefile import fsync_directory

log = logging.getLogger(__name__)


class SetupRepository:
    """The Setups of ``site`` (and any other site's already there) in the git tree ``path``."""

    def __init__(
        self,
        path: Path,
        site: str,
        *,
        remote: str | None = None,
        allowed_packages: Iterable[str] = DEFAULT_ALLOWED_PACKAGES,
        max_setup_bytes: int = DEFAULT_MAX_SETUP_BYTES,
        file_roots: Iterable[Path] = (),
    ) -> None:
        if parse_setup_file_name(setup_file_name(site, 1)) is None:
            raise RepositoryError(f"site {site!r} cannot name a Setup file (letters, digits, -)")
        self.path = Path(path).expanduser().resolve()
        self.site = site
        self.allowed_packages = tuple(allowed_packages)
        self.max_setup_bytes = max_setup_bytes
        # Besides a Setup's own folder, where its yaml// and csv// files may lie.
        self.file_roots = tuple(file_roots)
        self._thread_lock = threading.Lock()
        self._cache: dict[bytes, Any] = {}  # blob id → parsed YAML: a blob never changes
        self._tree: tuple[bytes, dict[tuple[str, int], bytes]] = (b"", {})
        with self._locked():
            gitstore.open_or_create(self.path)
            recovery.recover(self.path, everywhere=True)
        self.remote = remote or gitstore.origin_url(self.path)

    # -- writing -------------------------------------------------------------------

    def submit(
        self, setup: Mapping[str, Any], description: str, derived_from: int | None = None
    ) -> Setup:
        """Store ``setup`` as the next Setup of this site; returns it with its metadata.

        ``derived_from`` defaults to the id the submitted Setup already carries
        (an edited copy of Setup 41 is derived from 41).
        """
        if not isinstance(description, str) or not description.strip():
            raise InvalidSetup("a Setup needs a description of what changed")
        source = _as_setup(setup, self.max_setup_bytes)
        with self._locked():
            if derived_from is not None:
                self._find(self.site, derived_from)  # refuse a parent that does not exist
            elif source.site in (None, self.site) and (self.site, source.id) in self._committed():
                derived_from = source.id
            with self._submitting():
                meta = self._store(source.text, description.strip(), derived_from)
        log.info("Setup %s %d submitted: %s", self.site, meta.id, description.strip())
        if self.remote:
            gitstore.push(self.path, self.remote)
        # What get() would give, without parsing back the file just written.
        return Setup.from_dict(
            {META_KEY: meta.to_dict(), **source.content},
            source_dir=self.path / self.site,
            allowed_packages=self.allowed_packages,
            file_roots=self.file_roots,
        )

    def _store(self, content: str, description: str, derived_from: int | None) -> SetupMeta:
        """Write and commit the next Setup; the caller holds the lock."""
        number = self._next_id()
        meta = SetupMeta(number, self.site, description, utc_now(), derived_from)
        path = self._site_dir(self.site) / setup_file_name(self.site, number)
        _write_atomically(path, dump_yaml({META_KEY: meta.to_dict()}) + content)
        gitstore.commit(self.path, [path], recovery.commit_message(meta))
        return meta

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, file_lock(self.path.parent / f".{self.path.name}.lock"):
            yield

    @contextlib.contextmanager
    def _submitting(self) -> Iterator[None]:
        marker = recovery.marker(self.path)
        # A marker left behind means the last submitter died holding the lock.
        recovery.recover(self.path, everywhere=marker.exists())
        marker.touch()
        yield
        marker.unlink()  # left in place by a failure: the next submit looks everywhere

    def _next_id(self) -> int:
        numbers = [number for site, number in self._committed() if site == self.site]
        return max(numbers, default=0) + 1

    def _site_dir(self, site: str) -> Path:
        directory = self.path / site
        directory.mkdir(exist_ok=True)
        return directory

    # -- reading -------------------------------------------------------------------

    def list(
        self, site: str | None = None, filters: Mapping[str, Any] | None = None
    ) -> builtins.list[dict[str, Any]]:
        """The metadata of every committed Setup (of ``site``) whose content matches ``filters``."""
        found = []
        for (setup_site, number), blob_id in sorted(self._committed().items()):
            if site is not None and setup_site != site:
                continue
            data = self._data(setup_site, number, blob_id, quiet=True)
            content = {k: v for k, v in (data or {}).items() if k != META_KEY}
            if data is not None and compare.matches(content, filters):
                found.append(SetupMeta.from_raw(data.get(META_KEY)).to_dict())
        return found

    def get(self, setup_id: int, site: str | None = None) -> Setup:
        """The committed Setup ``setup_id`` of ``site`` (default: this repository's site)."""
        site = site or self.site
        return self._load(site, setup_id, self._find(site, setup_id))

    def diff(self, a: int, b: int, site: str | None = None) -> dict[str, Any]:
        """What changed from Setup ``a`` to Setup ``b``: ``{changes: [...], text: "..."}``."""
        site = site or self.site
        left, right = self.get(a, site).content(), self.get(b, site).content()
        return {
            "a": a,
            "b": b,
            "site": site,
            "changes": compare.differences(left, right),
            "text": compare.unified(
                left, right, setup_file_name(site, a), setup_file_name(site, b)
            ),
        }

    def _committed(self) -> dict[tuple[str, int], bytes]:
        """(site, id) → blob id of every Setup file in the last commit."""
        tree_id = gitstore.head_tree(self.path)
        if self._tree[0] == tree_id:
            return self._tree[1]
        found = {}
        for name, blob_id in gitstore.committed_files(self.path, tree_id).items():
            folder, _, file_name = name.rpartition("/")
            parsed = parse_setup_file_name(file_name)
            if parsed is not None and parsed[0] == folder:
                found[parsed] = blob_id
        self._tree = (tree_id, found)
        return found

    def _find(self, site: str, setup_id: int) -> bytes:
        blob_id = self._committed().get((site, setup_id))
        if blob_id is None:
            raise UnknownSetup(f"there is no Setup {setup_id} of site {site}")
        return blob_id

    def _load(self, site: str, number: int, blob_id: bytes) -> Setup:
        """A fresh Setup from a committed file: callers may change it as they like."""
        data = self._data(site, number, blob_id, quiet=False)
        return Setup.from_dict(
            copy.deepcopy(data),
            source_dir=self.path / site,
            allowed_packages=self.allowed_packages,
            file_roots=self.file_roots,
        )

    def _data(self, site: str, number: int, blob_id: bytes, *, quiet: bool) -> Any:
        """The parsed (shared, not to be changed) YAML of a committed Setup file."""
        data = self._cache.get(blob_id)
        if data is not None:
            return data
        try:
            name = setup_file_name(site, number)
            data = load_yaml(gitstore.read_blob(self.path, blob_id), name)
            Setup.from_dict(data)  # checks the keys and the _meta once
        except (yaml.YAMLError, ConfigError, TypeError) as exc:
            if quiet:
                log.warning("skipping %s: %s", name, exc)
                return None
            raise RepositoryError(f"{name} is unreadable: {exc}") from exc
        self._cache[blob_id] = data
        return data


@dataclass(frozen=True)
class _Submitted:
    """A submitted Setup, checked: its content, as data and as YAML, and where it came from."""

    content: dict[str, Any]
    text: str  # the YAML of ``content``: the file is its _meta, then this
    id: int | None  # the id and site it carries (a copy of a committed Setup)
    site: str | None


def _as_setup(setup: Mapping[str, Any], max_bytes: int) -> _Submitted:
    """``setup`` checked (a mapping of plain YAML data, ``_meta``, size) and its YAML."""
    if not isinstance(setup, Mapping):
        raise InvalidSetup(f"a Setup is a mapping, not {type(setup).__name__}")
    try:
        check_setup_size(setup, max_bytes)  # first: a cheap count that stops at the limit
        source = setup if isinstance(setup, Setup) else Setup.from_dict(setup)
        content = source.content()
        # Refuse what cannot be written, or is larger written out, before taking an id.
        text = dump_yaml(content) if content else ""
        if len(text.encode()) > max_bytes:
            raise SetupTooLarge.of(len(text.encode()), max_bytes)
        meta = source.meta
    except ConfigError as exc:
        raise InvalidSetup(str(exc)) from None
    except yaml.YAMLError as exc:
        raise InvalidSetup(f"a Setup holds plain YAML data only: {exc}") from None
    return _Submitted(content, text, meta.id, meta.site)


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that ``path`` is never seen half-written."""
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=recovery.TEMP_SUFFIX
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise RepositoryError(f"cannot write {path}: {exc.strerror or exc}") from exc
    fsync_directory(path.parent)
