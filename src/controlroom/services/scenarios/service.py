"""The commands of the scenarios service, and how it keeps up with the current Setup.

Its commands are declared on :class:`Scenarios` like any device's, so
``make_proxy(Scenarios, endpoint)`` gives a client with the same methods.
The rules come from the Setup the configuration manager has loaded. The
service registers with it for ``new_setup`` and, on that event, a task of the
server (never the command loop nor the events thread) fetches the new Setup
and puts its rules in force. The registration is renewed every ``follow_s``,
which also catches up with a Setup loaded while either of the two was down.
A Setup whose ``scenarios`` section is refused leaves the rules as they were;
the refusal shows in ``rules`` and the status until a Setup is accepted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from controlroom.device import Interface, command
from controlroom.rpc import ControlServer, Proxy, RpcError
from controlroom.rpc.events import Event
from controlroom.rpc.follow import Subscriber
from controlroom.services.scenarios.discovery import setup_device_names
from controlroom.services.scenarios.errors import RulesError
from controlroom.services.scenarios.evaluator import Evaluator
from controlroom.services.scenarios.firing import Firer
from controlroom.services.scenarios.journal import FiringJournal
from controlroom.services.scenarios.rules import parse_rules

log = logging.getLogger(__name__)

_NOTHING = object()  # no Setup loaded yet, not even none


class Scenarios(Interface):
    """The rules of the current Setup, what they fired, and what operators do with them."""

    status_min_period_s = 0.01
    hk_min_period_s = 0.01

    def __init__(
        self,
        evaluator: Evaluator,
        firer: Firer,
        streams: Subscriber,
        confman: Proxy,
        allowed_packages: Iterable[str],
    ) -> None:
        self.evaluator = evaluator
        self.firer = firer
        self.journal: FiringJournal = firer.journal
        self.streams = streams
        self.confman = confman
        self.allowed_packages = tuple(allowed_packages)
        self.setup_id: int | None = None
        self.devices: list[str] = []  # of the current Setup: streams to follow
        self.attempted: object = _NOTHING  # the Setup id last loaded, or tried to be
        self.refused: str | None = None  # why the last Setup's section was refused
        self._lock = threading.Lock()
        # The follow task and the reload command both talk to the configuration manager.
        self.confman_lock = threading.Lock()

    @command()
    def rules(self) -> list[dict[str, Any]]:
        """Every rule in force: condition, what it runs, enabled, hold, counts, last outcome."""
        return self.evaluator.describe()

    @command()
    def firings(self, limit: int = 50) -> list[dict[str, Any]]:
        """The last LIMIT firings, newest first: rule, value, obsid, outcome, duration."""
        return self.journal.recent(limit)

    @command()
    def enable(self, rule: str) -> dict[str, Any]:
        """Let RULE fire again (kept across Setup reloads)."""
        self.evaluator.set_enabled(rule, True)
        return self._rule(rule)

    @command()
    def disable(self, rule: str) -> dict[str, Any]:
        """Stop RULE from firing until enable (kept across Setup reloads); its hold restarts."""
        self.evaluator.set_enabled(rule, False)
        return self._rule(rule)

    @command()
    def reload(self) -> dict[str, Any]:
        """Fetch the current Setup and put its rules in force; a bad section is refused."""
        summary = self.load(self.fetch_setup())
        if self.refused is not None:
            raise RulesError([f"Setup {self.attempted}: {self.refused} (the rules in force stay)"])
        return summary

    def _rule(self, name: str) -> dict[str, Any]:
        return next(r for r in self.evaluator.describe() if r["name"] == name)

    def fetch_setup(self) -> Mapping[str, Any] | None:
        """The configuration manager's current Setup (None before its first load_setup)."""
        with self.confman_lock:
            setup = self.confman.call("get_current_setup")
        return setup if isinstance(setup, Mapping) else None

    def load(self, setup: Mapping[str, Any] | None) -> dict[str, Any]:
        """Put the rules of ``setup`` in force; a refused section leaves the rules as they were."""
        with self._lock:
            setup_id = setup_id_of(setup)
            self.attempted = setup_id  # a Setup that fails to load is not retried
            try:
                rules = parse_rules(setup, self.allowed_packages)
            except RulesError as exc:
                self.refused = str(exc)
                log.error("Setup %s: scenarios refused, the rules in force stay: %s", setup_id, exc)
                return self.summary()
            self.evaluator.replace(rules)
            self.refused = None
            self.setup_id = self.firer.setup_id = setup_id
            self.devices = setup_device_names(setup)
        log.info("Setup %s: rules %s", setup_id, ", ".join(self.evaluator.names()) or "none")
        return self.summary()

    def summary(self) -> dict[str, Any]:
        return {"setup_id": self.setup_id, "rules": self.evaluator.names(), "refused": self.refused}

    def status(self) -> dict[str, Any]:
        rules = self.evaluator.describe()
        return {
            "setup_id": self.setup_id,
            "rules": len(rules),
            "enabled": sum(r["enabled"] for r in rules),
            "running": [r["name"] for r in rules if r["running"]],
            "failures": sum(r["failures"] for r in rules),
            "refused": self.refused,
            "following": len(self.streams.connected()),
        }

    def housekeeping(self) -> dict[str, Any]:
        rules = self.evaluator.describe()
        return {"rules": len(rules), "firings": sum(r["firings"] for r in rules)}

    def connect(self) -> None:
        self.journal.start()
        self.streams.start()

    def disconnect(self) -> None:
        self.streams.stop()
        self.firer.stop()
        self.journal.stop()
        self.confman.close()


def setup_id_of(setup: Mapping[str, Any] | None) -> int | None:
    meta = (setup or {}).get("_meta")
    return meta.get("id") if isinstance(meta, Mapping) else None


class SetupFollower:
    """Keeps the service on the configuration manager's current Setup."""

    def __init__(self, server: ControlServer, scenarios: Scenarios, every_s: float) -> None:
        self.server = server
        self.scenarios = scenarios
        self.every_s = every_s
        self._reachable = True  # to log an outage once, not every period

    def attach(self) -> None:
        self.server.on_event("new_setup", self._on_new_setup)
        self.server.tasks.schedule(self.follow, every_s=self.every_s, name="follow confman")

    def _on_new_setup(self, event: Event) -> None:
        # The configuration manager is answered at once; the fetch runs as a task.
        self.server.tasks.schedule(self._reload, name="load the new Setup")

    def _reload(self) -> None:
        try:
            self.scenarios.load(self.scenarios.fetch_setup())
        except RpcError as exc:
            log.warning("cannot fetch the new Setup: %s", exc)

    def follow(self) -> None:
        """Renew the registration; load the current Setup if it is not the one we have."""
        listener = (self.server.name, self.server.endpoint, ["new_setup"])
        try:
            with self.scenarios.confman_lock:
                self.scenarios.confman.request("register_listener", listener)
            setup = self.scenarios.fetch_setup()
        except RpcError as exc:
            if self._reachable:
                log.warning("the configuration manager does not answer: %s", exc)
            self._reachable = False
            return
        if not self._reachable:
            log.info("the configuration manager answers again")
        self._reachable = True
        if setup_id_of(setup) != self.scenarios.attempted:
            self.scenarios.load(setup)
