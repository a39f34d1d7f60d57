"""The process manager's link to the configuration manager: the current Setup, ``new_setup``.

The configuration manager is found where our own child announced it (when
this process manager runs it), else through the registry or the Settings.
Asking for the Setup also (re-)registers us as a listener of ``new_setup``,
so a restarted configuration manager learns about us again. One that runs
on another host is not our child, so no ``process_started`` says it
restarted: :meth:`ConfmanLink.follow` asks it now and then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.resolve import registry_endpoint_of, resolve, settings_fallback
from controlroom.services.procman.errors import ConfmanUnavailable
from controlroom.services.procman.processspec import ReadyInfo

log = logging.getLogger(__name__)

CONFMAN = "confman"
EVENTS = ["new_setup"]
TIMEOUT_S = 2.0
FOLLOW_S = 5.0  # how often a configuration manager of another host is checked on


class ConfmanLink:
    """Fetches the current Setup and keeps ``listener`` registered for ``new_setup``."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        name: str,
        local: Callable[[], Mapping[str, ReadyInfo]],
        listener: Callable[[], str | None],
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.settings = settings
        self.name = name
        self.local = local
        self.listener = listener
        self.timeout_s = timeout_s

    def endpoint(self) -> str:
        """Where the configuration manager answers commands."""
        ours = self.local().get(CONFMAN, {}).get("commands")
        if ours:
            return ours
        try:
            found = resolve(
                CONFMAN,
                registry_endpoint=registry_endpoint_of(self.settings),
                fallback=settings_fallback(self.settings),
            )
        except RpcError as exc:
            raise ConfmanUnavailable(f"the configuration manager cannot be found: {exc}") from None
        return found["commands"]

    def current_setup(self) -> dict[str, Any] | None:
        """The current Setup as plain data (None before the first ``load_setup``)."""
        endpoint = self.endpoint()
        with Proxy(endpoint, name=CONFMAN, timeout=self.timeout_s) as confman:
            try:
                setup = confman.request("get_current_setup")
                self._register(confman)
            except RpcError as exc:
                raise ConfmanUnavailable(
                    f"the configuration manager at {endpoint} does not answer: {exc}"
                ) from None
        if setup is not None and not isinstance(setup, dict):
            raise ConfmanUnavailable(f"the configuration manager sent a {type(setup).__name__}")
        return setup

    def current_setup_id(self) -> Any:
        """The current Setup's id (None before the first); registers us on the way."""
        endpoint = self.endpoint()
        with Proxy(endpoint, name=CONFMAN, timeout=self.timeout_s) as confman:
            try:
                context = confman.request("get_context")
                self._register(confman)
            except RpcError as exc:
                raise ConfmanUnavailable(
                    f"the configuration manager at {endpoint} does not answer: {exc}"
                ) from None
        return context.get("setup_id") if isinstance(context, dict) else None

    def follow(
        self,
        stopping: threading.Event,
        known: Callable[[], Any],
        changed: Callable[[], None],
        period_s: float = FOLLOW_S,
    ) -> None:
        """Until ``stopping``: every ``period_s`` register for ``new_setup`` again, and
        call ``changed`` when the current Setup is not the ``known()`` one (we missed it)."""
        while not stopping.wait(period_s):
            try:
                current = self.current_setup_id()
            except ConfmanUnavailable as exc:
                log.debug("%s: %s", self.name, exc)
                continue
            if current != known():
                changed()

    def listen(self) -> bool:
        """Register for ``new_setup``; False (and a log line) if that failed."""
        try:
            with Proxy(self.endpoint(), name=CONFMAN, timeout=self.timeout_s) as confman:
                self._register(confman)
        except (RpcError, ConfmanUnavailable) as exc:
            log.warning("%s: not listening to the configuration manager: %s", self.name, exc)
            return False
        return True

    def _register(self, confman: Proxy) -> None:
        me = self.listener()
        if me:
            confman.request("register_listener", (self.name, me, EVENTS))
