"""What a core service's journal keeps: refusals and commands that change the lab, not chatter."""

from __future__ import annotations

from controlroom.rpc.hooks import CommandRecord
from controlroom.services.storage.attach import journaled
from controlroom.wire import ErrorInfo

ACCESS = {"lookup": "read", "register": "admin", "heartbeat": "admin", "load_setup": "command"}


def _record(command: str, error: str | None = None) -> CommandRecord:
    info = ErrorInfo(error, "no", "", "confman") if error else None
    return CommandRecord(0.0, "confman", command, [], {}, 0.001, None, info, "key viewer")


def test_refusals_are_always_kept() -> None:
    assert journaled(_record("lookup", "Forbidden"), ACCESS)
    assert journaled(_record("heartbeat", "Forbidden"), ACCESS)
    assert journaled(_record("load_setup", "LeaseHeld"), ACCESS)


def test_commands_that_change_the_lab_are_kept_reads_and_bookkeeping_are_not() -> None:
    assert journaled(_record("load_setup"), ACCESS)
    assert journaled(_record("load_setup", "ValueError"), ACCESS)  # tried and failed
    assert not journaled(_record("lookup"), ACCESS)
    assert not journaled(_record("register"), ACCESS)
    assert not journaled(_record("heartbeat"), ACCESS)
