"""The current Setup, as the panel's tasks and status file need it: fetched again on change.

:class:`SetupFollower` fetches the Setup once at start and again whenever the
configuration manager publishes another ``setup_id`` in its status (hub topic
``status/confman``), then hands it to its listeners on its own thread. A
fetch that fails (the configuration manager is not up yet) is tried again at
its next status, so the panel catches up by itself.

The fetch is injected; :func:`confman_fetch` is the one the panel uses: ask
the configuration manager found through the registry or the Settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.resolve import resolve, settings_fallback
from controlroom.web.hub import STATUS, Hub, Message, topic_of

log = logging.getLogger(__name__)

CONFMAN = "confman"
ASK_TIMEOUT_S = 2.0
_STOP_TIMEOUT_S = 5.0

SetupFetch = Callable[[], Mapping[str, Any] | None]
SetupListener = Callable[[Mapping[str, Any] | None], None]
_UNSEEN = object()  # no setup_id seen yet: the first fetch is due


def confman_endpoint_of(settings: Mapping[str, Any]) -> str | None:
    """Where the configuration manager answers (registry, then Settings); None if nowhere."""
    services = settings.get("services") or {}
    registry = (services.get("registry") or {}).get("commands")
    try:
        found = resolve(
            CONFMAN,
            registry_endpoint=str(registry) if registry else None,
            fallback=settings_fallback(settings),
        )
    except RpcError as exc:
        log.debug("no configuration manager: %s", exc)
        return None
    return found.get("commands")


def confman_fetch(settings: Mapping[str, Any]) -> SetupFetch:
    """A fetch asking the configuration manager for its current Setup (None: none loaded)."""

    def fetch() -> Mapping[str, Any] | None:
        endpoint = confman_endpoint_of(settings)
        if endpoint is None:
            raise LookupError("the configuration manager is neither registered nor in the Settings")
        with Proxy(endpoint, name=CONFMAN, timeout=ASK_TIMEOUT_S) as confman:
            setup = confman.request("get_current_setup")
        if setup is not None and not isinstance(setup, Mapping):
            raise TypeError(f"the configuration manager sent a {type(setup).__name__}")
        return setup

    return fetch


class SetupFollower:
    """Calls every listener with the current Setup at start and after each change."""

    def __init__(self, hub: Hub, fetch: SetupFetch) -> None:
        self.hub = hub
        self.fetch = fetch
        self.setup: Mapping[str, Any] | None = None
        self.fetches = 0  # successful ones, counted once the listeners have had the Setup
        self._listeners: list[SetupListener] = []
        self._loaded: object = _UNSEEN  # the setup_id the current Setup was fetched for
        self._wanted: object = None  # the setup_id confman published last
        self._news = 0  # statuses seen: a failed fetch is tried again at the next one
        self._failed_at: int | None = None
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def on_change(self, listener: SetupListener) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self.hub.attach(self, [topic_of(STATUS, CONFMAN)])
        latest = self.hub.latest(topic_of(STATUS, CONFMAN))
        if latest is not None:
            self._wanted = latest.values.get("setup_id")
        self._thread = threading.Thread(target=self._run, name="web-setup", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.hub.detach(self)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(_STOP_TIMEOUT_S)

    def offer(self, messages: Sequence[Message]) -> None:
        """The hub's call (a :class:`~.hub.Sink`): note the published setup_id, never block."""
        ours = [m for m in messages if m.topic == topic_of(STATUS, CONFMAN)]
        if not ours:
            return
        with self._cond:
            self._wanted = ours[-1].values.get("setup_id")
            self._news += 1
            self._cond.notify_all()

    def _due(self) -> bool:
        if self._wanted == self._loaded:
            return False
        return self._failed_at is None or self._news > self._failed_at

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._due())
                if self._stopping:
                    return
                wanted = self._wanted
            self._load(wanted)

    def _load(self, wanted: object) -> None:
        try:
            setup = self.fetch()
        except Exception as exc:  # the configuration manager may be down: try again later
            log.info("the current Setup cannot be fetched (yet): %s", exc)
            with self._cond:
                self._failed_at = self._news
            return
        self.setup = setup
        with self._cond:
            self._loaded, self._failed_at = wanted, None
        for listener in list(self._listeners):
            try:
                listener(setup)
            except Exception:
                log.exception("a listener of the current Setup failed")
        self.fetches += 1
