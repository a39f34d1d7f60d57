"""The commands of the scenarios service, and how it keeps up with the current Setup.

Its commands are declared on :class:`Scenarios` like any device's, so
``make_proxy(Scenarios, endpoint)`` gives a client with the same methods.
The rules come from the Setup the configuration manager has loaded, followed
as :mod:`controlroom.services.setupdriven` says: a new Setup puts its rules in
force. A Setup whose ``scenarios`` section is refused leaves the rules as they were;
the refusal shows in ``rules`` and the status until a Setup is accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from controlroom.device import command
from controlroom.rpc import Proxy
from controlroom.rpc.follow import Subscriber
from controlroom.services.scenarios.discovery import setup_device_names
from controlroom.services.scenarios.errors import RulesError
from controlroom.services.scenarios.evaluator import Evaluator
from controlroom.services.scenarios.firing import Firer
from controlroom.services.scenarios.journal import FiringJournal
from controlroom.services.scenarios.rules import parse_rules
from controlroom.services.setupdriven import SetupDriven, setup_id_of

log = logging.getLogger(__name__)


class Scenarios(SetupDriven):
    """The rules of the current Setup, what they fired, and what operators do with them."""

    status_min_period_s = 0.01
    hk_min_period_s = 0.01

    def __init__(
        self,
        evaluator: Evaluator,
        firer: Firer,
        streams: Subscriber,
        confman: Proxy,
        allowed: Iterable[str],
    ) -> None:
        super().__init__(confman, allowed)
        self.evaluator = evaluator
        self.firer = firer
        self.journal: FiringJournal = firer.journal
        self.streams = streams
        self.devices: list[str] = []  # of the current Setup: streams to follow
        self.refused: str | None = None  # why the last Setup's section was refused

    @command(access="read")
    def rules(self) -> list[dict[str, Any]]:
        """Every rule in force: condition, what it runs, enabled, hold, counts, last outcome."""
        return self.evaluator.describe()

    @command(access="read")
    def firings(self, limit: int = 50) -> list[dict[str, Any]]:
        """The last LIMIT firings, newest first: rule, value, obsid, outcome, duration."""
        return self.journal.recent(limit)

    @command(access="command")
    def enable(self, rule: str) -> dict[str, Any]:
        """Let RULE fire again (kept across Setup reloads)."""
        self.evaluator.set_enabled(rule, True)
        return self._rule(rule)

    @command(access="command")
    def disable(self, rule: str) -> dict[str, Any]:
        """Stop RULE from firing until enable (kept across Setup reloads); its hold restarts."""
        self.evaluator.set_enabled(rule, False)
        return self._rule(rule)

    @command(access="command")
    def reload(self) -> dict[str, Any]:
        """Fetch the current Setup and put its rules in force; a bad section is refused."""
        summary = self.load(self.fetch_setup())
        if self.refused is not None:
            raise RulesError([f"Setup {self.attempted}: {self.refused} (the rules in force stay)"])
        return summary

    def _rule(self, name: str) -> dict[str, Any]:
        return next(r for r in self.evaluator.describe() if r["name"] == name)

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
        super().disconnect()
