"""Interrupting commands on the driver side: declaration, schema, and how a wait notices."""

from __future__ import annotations

import threading

import pytest

from controlroom.device import ArgumentError, DeclarationError, Interface, Interrupted, command
from controlroom.device.interrupt import Interruption
from controlroom.device.serving import DeviceService


class Shutter(Interface):
    def __init__(self) -> None:
        self.closed = 0

    @command(interrupts=True)
    def close(self) -> None:
        """Close at once."""
        self.closed += 1

    @command(kind="query", cmd="STOP?", interrupts=True)
    def stop_query(self) -> str:
        """A query that stops: still a command, not a read."""

    @command()
    def expose(self, seconds: float) -> str:
        watch = self.interruption.watch()
        watch.sleep(seconds)
        return "exposed"


def test_the_declaration_is_in_the_spec_the_schema_and_the_service() -> None:
    commands = Shutter.commands()
    assert commands["close"].interrupts and not commands["expose"].interrupts
    assert commands["close"].schema()["interrupts"] is True
    assert "interrupts" not in commands["expose"].schema()
    assert commands["stop_query"].access == "command"
    assert DeviceService(Shutter()).interrupting() == {"close", "stop_query"}


def test_a_read_cannot_interrupt_and_the_flag_must_be_a_bool() -> None:
    with pytest.raises(DeclarationError, match="read-only command cannot interrupt"):

        class Bad(Interface):
            @command(access="read", interrupts=True)
            def look(self) -> None: ...

    with pytest.raises(DeclarationError, match="interrupts must be True or False"):

        class Worse(Interface):
            @command(interrupts="yes")  # type: ignore[arg-type]
            def close(self) -> None: ...


def test_a_watch_trips_on_a_signal_after_it_opened_and_not_before() -> None:
    interruption = Interruption()
    interruption.signal("stop")  # came before the command started: not its business
    watch = interruption.watch()
    watch.check()
    watch.sleep(0.001)  # no signal since: returns after the time
    assert not watch.tripped
    interruption.signal("abort")
    assert watch.tripped
    with pytest.raises(Interrupted, match="interrupted by abort"):
        watch.check()
    assert not interruption.watch().tripped  # the next command starts afresh


def test_a_sleeping_watch_wakes_at_the_signal_not_at_the_end_of_its_sleep() -> None:
    interruption = Interruption()
    watch = interruption.watch()
    caught: list[BaseException] = []
    asleep = threading.Event()

    def wait() -> None:
        asleep.set()
        try:
            watch.sleep(600)  # the test would hang here if the signal did not wake it
        except Interrupted as exc:
            caught.append(exc)

    sleeper = threading.Thread(target=wait, daemon=True)  # never left behind, even on failure
    sleeper.start()
    assert asleep.wait(10)
    interruption.signal("stop")
    sleeper.join(30)
    assert not sleeper.is_alive()
    assert [str(e) for e in caught] == ["interrupted by stop"]


def test_the_service_signals_before_an_interrupting_command_and_not_on_bad_arguments() -> None:
    shutter = Shutter()
    service = DeviceService(shutter)
    watch = shutter.interruption.watch()
    with pytest.raises(ArgumentError, match="close"):
        service.invoke("close", [], {"nonsense": 1})
    service.invoke("expose", [0.0], {})  # an ordinary command interrupts nothing
    assert not watch.tripped
    service.invoke("close", [], {})
    assert watch.tripped and shutter.closed == 1


def test_a_stop_that_came_first_keeps_the_watched_action_from_going_out() -> None:
    interruption = Interruption()
    watch = interruption.watch()
    sent: list[str] = []
    with interruption.interrupting("stop"):
        sent.append("ST")
    with pytest.raises(Interrupted), watch.sending():
        sent.append("PA")  # never reached
    assert sent == ["ST"]


def test_a_refused_stop_signals_nothing() -> None:
    interruption = Interruption()
    watch = interruption.watch()
    with pytest.raises(RuntimeError), interruption.interrupting("stop"):
        raise RuntimeError("refused")
    assert not watch.tripped


def test_a_stop_waits_for_an_action_going_out_and_then_interrupts_its_wait() -> None:
    interruption = Interruption()
    watch = interruption.watch()
    order: list[str] = []
    sending, stopped = threading.Event(), threading.Event()

    def stop() -> None:
        assert sending.wait(10)
        with interruption.interrupting("stop"):
            order.append("ST")
        stopped.set()

    stopper = threading.Thread(target=stop)
    stopper.start()
    with watch.sending():
        sending.set()
        assert not stopped.wait(0.05)  # held back while the move goes out
        order.append("PA")
    stopper.join(10)
    assert order == ["PA", "ST"] and watch.tripped
