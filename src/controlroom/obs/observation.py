"""Observations: a span of test activity with an obsid from the configuration manager.

Building blocks run only inside one. In a script::

    with observation("Warm up the bench", confman="tcp://confman:6000") as obs:
        warm_up(target=293.0, rate=2.0)
    print(obs.obsid, obs.journal)

or at the Python prompt, where a ``with`` block is awkward::

    start_observation("Warm up the bench")
    warm_up(target=293.0, rate=2.0)
    end_observation()

``confman`` is a :class:`~controlroom.rpc.Proxy`, an endpoint, or ``None``
for the endpoint the Settings name at ``services.confman.commands`` (read
when the observation starts). The current observation is held in a
:class:`~contextvars.ContextVar`: it belongs to the thread (or task) that
started it.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from controlroom.config.settings import load_settings
from controlroom.obs.block_journal import JournalEntry
from controlroom.obs.errors import ObservationError
from controlroom.rpc import Proxy, RpcError

log = logging.getLogger(__name__)

JOURNAL_LENGTH = 10_000
"""Entries an observation keeps in memory (the oldest go first) until storage takes over."""


@dataclass
class Observation:
    """One running (or finished) observation and the journal of its building blocks."""

    obsid: str | None  # None for the stand-in observation of a dry run
    description: str
    started: float = field(default_factory=time.time)
    ended: float | None = None
    dry_run: bool = False
    journal: collections.deque[JournalEntry] = field(
        default_factory=lambda: collections.deque(maxlen=JOURNAL_LENGTH)
    )
    confman: Proxy | None = field(default=None, repr=False)
    owns_confman: bool = field(default=False, repr=False)


CURRENT: ContextVar[Observation | None] = ContextVar("controlroom_observation", default=None)


def current_observation() -> Observation | None:
    """The observation running in this thread or task, if any."""
    return CURRENT.get()


def start_observation(description: str, *, confman: Proxy | str | None = None) -> Observation:
    """Ask the configuration manager for an obsid and make the observation current."""
    running = CURRENT.get()
    if running is not None:
        what = f"observation {running.obsid}" if running.obsid else "a dry run"
        raise ObservationError(f"{what} is running; end it first")
    if not isinstance(description, str) or not description.strip():
        raise ObservationError("an observation needs a description (what is being tested)")
    proxy, owned = confman_proxy(confman)
    try:
        obsid = proxy.call("start_observation", description)
    except RpcError as exc:
        if owned:
            proxy.close()
        raise ObservationError(
            f"the configuration manager did not start an observation: {exc}"
        ) from exc
    started = Observation(str(obsid), description, confman=proxy, owns_confman=owned)
    CURRENT.set(started)
    log.info("observation %s started: %s", started.obsid, description)
    return started


def end_observation() -> Observation:
    """End the current observation at the configuration manager; returns it."""
    running = CURRENT.get()
    if running is None or running.dry_run:
        raise ObservationError("no observation is running")
    CURRENT.set(None)  # ended here whatever the configuration manager answers
    running.ended = time.time()
    assert running.confman is not None
    try:
        running.confman.call("end_observation")
    except RpcError as exc:
        raise ObservationError(
            f"observation {running.obsid}: the configuration manager did not end it: {exc}"
        ) from exc
    finally:
        if running.owns_confman:
            running.confman.close()
    log.info("observation %s ended", running.obsid)
    return running


@contextmanager
def observation(description: str, *, confman: Proxy | str | None = None) -> Iterator[Observation]:
    """Run the ``with`` body as one observation; it is ended even when the body fails."""
    started = start_observation(description, confman=confman)
    try:
        yield started
    except BaseException:
        try:
            end_observation()
        except ObservationError as exc:  # the body's error is the one to report
            log.error("%s", exc)
        raise
    end_observation()


@contextmanager
def dry_run_observation(description: str) -> Iterator[Observation]:
    """A stand-in observation without obsid, so building blocks run in a dry run."""
    stand_in = Observation(None, description, dry_run=True)
    token = CURRENT.set(stand_in)
    try:
        yield stand_in
    finally:
        CURRENT.reset(token)


def confman_proxy(confman: Proxy | str | None) -> tuple[Proxy, bool]:
    """A proxy for the configuration manager, and whether we made it (and must close it)."""
    if isinstance(confman, Proxy):
        return confman, False
    return Proxy(confman or confman_endpoint(load_settings()), name="confman"), True


def confman_endpoint(settings: Mapping[str, Any]) -> str:
    """``services.confman.commands`` from the Settings; a clear error when it is missing."""
    endpoint = None
    confman = (settings.get("services") or {}).get("confman")
    if isinstance(confman, Mapping):
        endpoint = confman.get("commands")
    if not endpoint:
        raise ObservationError(
            "no configuration manager: the Settings have no services.confman.commands "
            "(or pass confman=)"
        )
    return str(endpoint)
