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


def light(server: str, up: bool, since: float = NOW) -> Message:
    return Message(topic_of(SERVER, server), server, NOW, {"up": up, "since": since})


def lease(until_s: float, serial: int = 1, holder: str = "olga via web (key lab)") -> dict:
    return {"serial": serial, "holder": holder, "until": "…", "until_s": until_s, "renewals": 0}


def test_events_say_who_holds_a_device_and_until_when() -> None:
    clock = Clock()
    book = LeaseBook(clock)
    book.offer([event("psu", "lease_taken", **lease(NOW + 60))])
    known, unknown = book.lookup(["psu", "tempctl"])
    assert known["psu"] is not None and known["psu"]["holder"] == "olga via web (key lab)"
    assert known["psu"]["remaining_s"] == 60 and list(unknown) == ["tempctl"]
    clock.now += 20
    held = book.lookup(["psu"])[0]["psu"]
    assert held is not None and held["remaining_s"] == 40
    book.offer([event("psu", "lease_released", **lease(NOW + 60))])
    assert book.lookup(["psu"]) == ({"psu": None}, {})


def test_a_held_lease_is_asked_again_once_its_end_passed_or_after_a_while() -> None:
    clock = Clock()
    book = LeaseBook(clock, held_for_s=30)
    book.offer([event("psu", "lease_taken", **lease(NOW + 10))])
    clock.now += 11  # renewed silently, or expired and the event is on its way: ask
    assert "psu" in book.lookup(["psu"])[1]
    book.offer([event("psu", "lease_taken", **lease(NOW + 3600, serial=2))])
    clock.now += 30  # a restart between two pings may have ended it unseen: ask
    assert "psu" in book.lookup(["psu"])[1]


def test_the_late_end_of_an_older_lease_does_not_end_the_current_one() -> None:
    book = LeaseBook(Clock())
    book.offer([event("psu", "lease_taken", **lease(NOW + 60, serial=3))])
    book.offer([event("psu", "lease_taken", **lease(NOW + 60, serial=4, holder="otto"))])
    book.offer([event("psu", "lease_expired", **lease(NOW + 60, serial=3))])
    held = book.lookup(["psu"])[0]["psu"]
    assert held is not None and held["holder"] == "otto"
    book.offer([event("psu", "lease_released", **lease(NOW + 60, serial=4))])
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
    book.offer([light("psu", True, since=NOW + 5)])  # seen down and up again meanwhile
    assert "psu" in book.lookup(["psu"])[1]
    book.learn("psu", None, book.lookup(["psu"])[1]["psu"])
    book.offer([light("psu", False)])
    assert "psu" in book.lookup(["psu"])[1]
