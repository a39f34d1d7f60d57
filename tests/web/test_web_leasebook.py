"""The panel's book of leases: what the devices' events say, and answers kept only if newer."""

from __future__ import annotations

from typing import Any

from controlroom.web.hub import EVENT, SERVER, Message, topic_of
from controlroom.web.leasebook import LeaseBook

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def event(server: str, name: str, **values: Any) -> Message:
    values = {"event": name, "server": server, **values}
    return Message(topic_of(EVENT, server), server, NOW, values)


def light(server: str, up: bool, since: str | None = "2026-12-07T20:00:00Z") -> Message:
    return Message(topic_of(SERVER, server), server, NOW, {"up": up, "since": since})


def lease(until_s: float, holder: str = "olga via web (key lab)") -> dict[str, Any]:
    return {"holder": holder, "until": "…", "until_s": until_s, "remaining_s": 5.0, "renewals": 0}


def test_events_say_who_holds_a_device_and_until_when() -> None:
    clock = Clock()
    book = LeaseBook(clock)
    book.offer([event("psu", "lease_taken", **lease(NOW + 60))])
    known, unknown = book.lookup(["psu", "tempctl"])
    assert known["psu"] is not None and known["psu"]["holder"] == "olga via web (key lab)"
    assert known["psu"]["remaining_s"] == 60 and list(unknown) == ["tempctl"]
    book.offer([event("psu", "lease_renewed", **lease(NOW + 600))])
    clock.now += 100
    renewed = book.lookup(["psu"])[0]["psu"]
    assert renewed is not None and renewed["remaining_s"] == 500
    book.offer([event("psu", "lease_released", **lease(NOW + 600))])
    assert book.lookup(["psu"]) == ({"psu": None}, {})


def test_a_lease_past_its_end_is_shown_as_none_before_its_event_comes() -> None:
    clock = Clock()
    book = LeaseBook(clock)
    book.offer([event("psu", "lease_taken", **lease(NOW + 10))])
    clock.now += 11
    assert book.lookup(["psu"])[0] == {"psu": None}


def test_other_events_teach_nothing() -> None:
    book = LeaseBook(Clock())
    book.offer([event("psu", "thread_died"), event("psu", "lease_sold")])
    assert book.lookup(["psu"]) == ({}, {"psu": 0})


def test_an_answer_is_kept_unless_an_event_came_while_it_was_asked() -> None:
    book = LeaseBook(Clock())
    _, unknown = book.lookup(["psu", "ogse"])
    book.learn("ogse", None, unknown["ogse"])
    book.offer([event("psu", "lease_taken", **lease(NOW + 60))])  # newer than the answer
    book.learn("psu", None, unknown["psu"])
    known, unknown = book.lookup(["psu", "ogse"])
    assert known["ogse"] is None and known["psu"] is not None and not unknown


def test_a_device_that_goes_down_or_restarts_is_asked_again() -> None:
    book = LeaseBook(Clock())
    book.offer([light("psu", True)])
    book.learn("psu", lease(NOW + 60), book.lookup(["psu"])[1]["psu"])
    book.offer([light("psu", True)])  # the same light again: nothing changed
    assert "psu" in book.lookup(["psu"])[0]
    book.offer([light("psu", True, since="2026-12-07T21:00:00Z")])  # restarted
    assert "psu" in book.lookup(["psu"])[1]
    book.learn("psu", None, book.lookup(["psu"])[1]["psu"])
    book.offer([light("psu", False)])
    assert "psu" in book.lookup(["psu"])[1]
