"""Putting a control server's housekeeping and command journal on the way to storage.

:func:`attach_storage` gives a server two senders: one for its housekeeping
(a sink) and one for its command journal (an observer). They are separate so
that a flood of housekeeping, when the storage manager is away, can never push
journal entries out of a full queue. Their counters appear in the server's
``info`` under ``storage``, refreshed with every housekeeping sample; rows a
full queue dropped are also announced, at most once per sample, as the
server's event ``storage_rows_dropped`` ``{sender, origin, dropped, total}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controlroom.rpc import ControlServer
from controlroom.rpc.access import READ
from controlroom.rpc.follow import StatusFollower
from controlroom.rpc.hooks import CommandRecord, HkSample
from controlroom.services.storage.journal import JOURNAL, JournalSink, journal_values
from controlroom.services.storage.options import sender_options, storage_endpoint
from controlroom.services.storage.sender import ContextProvider, StorageSender, no_context

INFO_KEY = "storage"
CONFMAN_TOPIC = "status/confman"
DROPPED_EVENT = "storage_rows_dropped"


@dataclass
class StorageLink:
    """The senders attached to one server; :meth:`stop` them after the server stops."""

    server: ControlServer
    hk: StorageSender
    journal: StorageSender

    def __post_init__(self) -> None:
        self.observer = JournalSink(self.journal)
        self._announced = {"hk": 0, "journal": 0}  # dropped rows already told

    def counters(self) -> dict[str, Any]:
        """``{hk: {...}, journal: {...}}``: queued, sent, dropped, refused rows, lag..."""
        return {"hk": self.hk.counters(), "journal": self.journal.counters()}

    def refresh_info(self, _: HkSample | None = None) -> None:
        """Show the counters in the server's ``info`` (a sink: runs after each sample)."""
        counters = self.counters()
        self.server.extra_info[INFO_KEY] = counters
        self._announce_drops(counters)

    def _announce_drops(self, counters: dict[str, Any]) -> None:
        for sender, figures in counters.items():
            total = figures["dropped"]
            if total > self._announced[sender]:
                data = {"sender": sender, "origin": figures["origin"], "total": total}
                self.server.notify(
                    DROPPED_EVENT, {**data, "dropped": total - self._announced[sender]}
                )
                self._announced[sender] = total

    def stop(self, timeout: float = 5.0) -> None:
        """Send what the manager takes within ``timeout``, then stop both senders."""
        hooks = self.server.hooks
        for sink in (self.hk, self.refresh_info):
            if sink in hooks.hk_sinks:
                hooks.hk_sinks.remove(sink)
        if self.observer in hooks.reply_observers:
            hooks.reply_observers.remove(self.observer)
        self.hk.stop(timeout)
        self.journal.stop(timeout)
        self.refresh_info()


def attach_storage(
    server: ControlServer,
    settings: Mapping[str, Any],
    context: ContextProvider = no_context,
    *,
    origin: str | None = None,
    endpoint: str | None = None,
) -> StorageLink:
    """Send ``server``'s housekeeping and journal to the storage manager; returns the link.

    ``context`` tells the Setup id and obsid for each row (a
    :class:`~controlroom.rpc.follow.StatusFollower` on the configuration
    manager's ``status/confman``). The origin is ``origin``, else the device
    entry's ``origin`` in the Settings, else the server's name in upper case.
    """
    target = endpoint or storage_endpoint(settings)
    options = sender_options(settings)
    hk_origin = origin or _configured_origin(settings, server.name) or server.name.upper()
    link = StorageLink(
        server,
        StorageSender(target, hk_origin, context=context, options=options),
        StorageSender(target, JOURNAL, context=context, options=options, encode=journal_values),
    )
    link.hk.start()
    link.journal.start()
    server.hooks.hk_sinks.extend([link.hk, link.refresh_info])
    # Queued right after the reply goes out: the caller never waits for the journal.
    server.hooks.reply_observers.append(link.observer)
    link.refresh_info()
    return link


# What the lab's own processes send core services all the time: journaling it would
# bury the operators' commands (and a journaled `store` would be stored, journaled...).
BOOKKEEPING = frozenset({"register", "heartbeat", "unregister", "store", "store_packed"})
REFUSALS = frozenset({"Forbidden", "LeaseHeld"})


def attach_journal(
    server: ControlServer, settings: Mapping[str, Any], *, endpoint: str | None = None
) -> StorageSender:
    """A core service's command journal: every refusal, and every command that changes
    something except the lab's own bookkeeping; stop the sender after the server."""
    sender = StorageSender(
        endpoint or storage_endpoint(settings),
        JOURNAL,
        options=sender_options(settings),
        encode=journal_values,
    ).start()
    sink = JournalSink(sender)
    access = server.dispatcher.access

    def observe(record: CommandRecord) -> None:
        if journaled(record, access):
            sink(record)

    server.hooks.reply_observers.append(observe)
    return sender


def journaled(record: CommandRecord, access: Mapping[str, str]) -> bool:
    """Whether a core service's journal keeps ``record`` (see :func:`attach_journal`)."""
    if record.error is not None and record.error.type in REFUSALS:
        return True
    return access.get(record.command, READ) != READ and record.command not in BOOKKEEPING


def _configured_origin(settings: Mapping[str, Any], name: str) -> str | None:
    entry = (settings.get("devices") or {}).get(name) or {}
    origin = entry.get("origin")
    return str(origin) if origin else None


def follow_confman(settings: Mapping[str, Any], endpoint: str | None = None) -> StatusFollower:
    """A started follower of the configuration manager's status: the senders' context.

    ``endpoint`` is its publish endpoint (default: the Settings'); stop it after
    the senders.
    """
    publish = endpoint or str(settings["services"]["confman"]["publish"])
    return StatusFollower(publish, CONFMAN_TOPIC).start()
