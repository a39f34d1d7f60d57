"""The futures the DPU controller returns: the processor's reply records, checked.

A register write queued at the processor completes, one command window
later, with its reply record (``register``, ``value``, ``address``,
``word``, ``status``: the RMAP status, ``error``, ``frame_counter``: the
sync period whose window sent it). The control server answers the caller
when the future the command returned completes (deferred replies), so the
controller hands back a future of its own that

* completes with the record (or, for a command of several writes, the list
  of records, once the last write went out);
* fails with :class:`~.errors.CommandRejected` when the FEE refused a write
  or it could not be sent, naming each such write, and carrying all records;
* fails with the processor's own error (a restart, a full queue) as is;
* when cancelled (the server stops, or owes too many replies), cancels the
  processor's futures too, so nobody waits on them. A write already at the
  processor is still sent: a queue in another process cannot be recalled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, InvalidStateError
from typing import Any, TypeVar

from controlroom.device.spacewire.errors import Status
from controlroom.devices.camera.control.errors import CommandRejected

Record = dict[str, Any]
ResultT = TypeVar("ResultT")


def accepted(record: Record) -> bool:
    """The FEE took the write: RMAP status 0 and no error."""
    return record.get("status") == 0 and not record.get("error")


def describe_refusal(record: Record) -> str:
    """``v_end=163: RMAP status 10 (NOT_IMPLEMENTED_OR_NOT_AUTHORISED)``, or why it was not sent."""
    what = (
        f"{record.get('register')}={record.get('value')}"
        if "register" in record
        else f"word {record.get('word')} at address {record.get('address')}"
    )
    status = record.get("status")
    if status is None:
        return f"{what}: not sent ({record.get('error') or 'no reply from the FEE'})"
    try:
        name = Status(status).name
    except ValueError:
        name = "unknown status"
    reason = f"RMAP status {status} ({name})"
    return f"{what}: {reason}" + (f", {record['error']}" if record.get("error") else "")


def checked_write(source: Future[Record]) -> Future[Record]:
    """The record of one write, or CommandRejected if the FEE refused it."""
    return _derived([source], lambda records: records[0])


def checked_writes(sources: Sequence[Future[Record]]) -> Future[list[Record]]:
    """All records of several writes once the last one completed; CommandRejected if any
    was refused (the others may have been taken: the records say which)."""
    if not sources:
        raise ValueError("checked_writes needs at least one write")
    return _derived(list(sources), list)


def _derived(
    sources: list[Future[Record]], result: Callable[[list[Record]], ResultT]
) -> Future[ResultT]:
    target: Future[ResultT] = Future()
    lock = threading.Lock()
    remaining = [len(sources)]

    def one_done(_: Future[Record]) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0]:
                return
        _settle(target, sources, result)

    def target_done(done: Future[ResultT]) -> None:
        if done.cancelled():
            for source in sources:
                source.cancel()

    target.add_done_callback(target_done)
    for source in sources:
        source.add_done_callback(one_done)
    return target


def _settle(
    target: Future[ResultT],
    sources: list[Future[Record]],
    result: Callable[[list[Record]], ResultT],
) -> None:
    """Complete ``target`` from its completed ``sources`` (unless it was cancelled)."""
    try:
        records = [source.result() for source in sources]
    except CancelledError:
        target.cancel()
        return
    except Exception as error:  # the processor's own failure: a restart, a full queue
        _complete(target, error=error)
        return
    refused = [record for record in records if not accepted(record)]
    if refused:
        message = "the FEE did not take " + "; ".join(describe_refusal(r) for r in refused)
        _complete(target, error=CommandRejected(message, records))
    else:
        _complete(target, value=result(records))


def _complete(
    target: Future[ResultT], *, value: Any = None, error: BaseException | None = None
) -> None:
    try:
        if error is not None:
            target.set_exception(error)
        else:
            target.set_result(value)
    except InvalidStateError:  # cancelled meanwhile: nobody waits for it any more
        pass
