"""The simulator against command sequences as the Newport ESP300 manual and real drivers send them.

Every exchange goes over TCP to a running simulator, lines ending in CR as the
controller expects. A ``None`` reply means the command answers nothing; the
next query on the connection then proves it was taken in order.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence

import pytest

from controlroom.devices.motion.sim.server import MotionSimulator
from controlroom.testing.simulators import LineClient, SimulatorProcess

Exchange = tuple[str, "str | None"]


class Esp300Client(LineClient):
    """A raw client as a host program talks to the ESP300: CR out, CR LF back."""

    def __init__(self, port: int) -> None:
        super().__init__(port, write_terminator="\r", read_terminator="\r\n", timeout=10.0)

    def replay(self, exchanges: Sequence[Exchange]) -> None:
        for line, expected in exchanges:
            if expected is None:
                self.send(line)
            else:
                assert self.ask(line) == expected, line
        assert self.ask("TE?") == "0", "an exchange left an error behind"


@pytest.fixture
def esp300() -> Iterator[Esp300Client]:
    # Simulated time runs 50x faster: a home search of 12.5 mm takes 55 ms.
    with MotionSimulator(port=0, speed=50.0) as sim, Esp300Client(sim.port) as client:
        yield client


@pytest.fixture
def esp300_process() -> Iterator[int]:
    """The simulator as its own process, on a free port; its port once it printed READY."""
    module = "controlroom.devices.motion.sim.server"
    with SimulatorProcess(module, "--speed", "50") as sim:
        yield sim.port
    assert sim.returncode == 0


def test_tp_answers_without_the_question_mark(esp300: Esp300Client) -> None:
    assert esp300.ask("1TP") == "0.00000"
    assert esp300.ask("1TP?") == "0.00000"
    esp300.replay([("1PA2.5", None), ("1WS", None), ("1TP", "2.50000"), ("1TP?", "2.50000")])


def test_read_only_queries_take_both_forms(esp300: Esp300Client) -> None:
    for bare, with_mark in [("1MD", "1MD?"), ("1DP", "1DP?"), ("1TV", "1TV?"), ("1DV", "1DV?")]:
        assert esp300.ask(bare) == esp300.ask(with_mark)
    assert esp300.ask("VE") == esp300.ask("VE?") == "ESP300 Version 3.08 09/09/02"
    assert esp300.ask("*IDN?") == "ESP300 Version 3.08 09/09/02"
    assert esp300.ask("TE") == "0"


def test_settings_read_back_with_the_question_mark(esp300: Esp300Client) -> None:
    esp300.replay(
        [
            ("1VA?", "5.00000"),
            ("1VA2.5", None),
            ("1VA?", "2.50000"),
            ("1AC?", "20.00000"),
            ("1AG?", "20.00000"),
            ("1SL?", "-50.00000"),
            ("1SR?", "50.00000"),
            ("1MO?", "1"),
            ("1PA?", "0.00000"),
            ("1PA3", None),
            ("1PA?", "3.00000"),  # the target, at once
            ("1WS", None),
            ("1TP", "3.00000"),
        ]
    )


def test_te_after_a_refused_command(esp300: Esp300Client) -> None:
    # The manual's example: axis 8 does not exist.
    assert esp300.ask("TE?") == "0"
    esp300.send("8PA12.3")
    assert esp300.ask("TE?") == "9"
    esp300.send("1PA60")
    assert esp300.ask("TE?") == "106"
    assert esp300.ask("TE?") == "0"


def test_tb_after_a_refused_command(esp300: Esp300Client) -> None:
    assert re.fullmatch(r"0, \d+, NO ERROR DETECTED", esp300.ask("TB?"))
    esp300.send("8PA12.3")
    assert re.fullmatch(r"9, \d+, AXIS NUMBER OUT OF RANGE", esp300.ask("TB?"))
    esp300.send("2PA-60")
    code, stamp, message = esp300.ask("TB?").split(", ")
    assert (code, message) == ("207", "NEGATIVE SOFTWARE LIMIT DETECTED")
    assert int(stamp) > 0  # servo cycles since the controller started
    esp300.send("1MF")
    esp300.send("1PA1")
    esp300.send("1OR")
    assert esp300.ask("TB?").endswith(", MOTOR NOT ENABLED")
    assert esp300.ask("TB?").startswith("120, ")  # HOMING ABORTED: the motor is off
    assert esp300.ask("TE?") == "0"


def test_semicolon_joined_lines(esp300: Esp300Client) -> None:
    # The manual's example line, then the replies of several queries on one line.
    esp300.send("3MO; 3PA10.0; 3WS; 3MF")
    assert esp300.ask("3TP;3MO?;3MD?;TE?") == "10.00000,0,1,0"
    assert esp300.ask("2 PA 1.5;2WS;2TP") == esp300.ask("2PA1.5;2WS;2TP") == "1.50000"
    assert esp300.ask("1PA1.0 ; 1WS ;  ; 1PR10.0 ; 1WS ; 1TP ; 1DP?") == "11.00000,11.00000"
    assert esp300.ask("1tp;xx;2tp;TE?") == "11.00000,1.50000,6"


def test_manual_examples_for_dp_and_tv(esp300: Esp300Client) -> None:
    start = float(esp300.ask("3TP?"))
    esp300.send("3PR2.2")
    assert float(esp300.ask("3DP?")) == pytest.approx(start + 2.2)
    esp300.ask("3DV")
    esp300.ask("3TV")
    esp300.replay([("3WS", None), ("3TP", "2.20000"), ("3TV", "0.00000")])


def test_a_session_shaped_like_pymeasure_esp300(esp300: Esp300Client) -> None:
    """The strings PyMeasure's ``ESP300`` sends, with axes x, y and phi on 1, 2 and 3."""
    esp300.replay(
        [
            ("3MO", None),  # esp.enable() walks phi, x, y
            ("1MO", None),
            ("2MO", None),
            ("TE?", "0"),  # esp.clear_errors()
            ("1OR1", None),  # esp.x.home()
            ("1WS0", None),  # esp.x.wait_for_stop(), then polls motion_done
            ("1MD?", "1"),
            ("1TP", "0.00000"),  # esp.x.position
            ("1PA5", None),  # esp.x.position = 5
            ("1WS0", None),
            ("1MD?", "1"),
            ("1TP", "5.00000"),
            ("1SL?", "-50.00000"),  # esp.x.left_limit
            ("1SL-20", None),
            ("1SR20", None),
            ("1SR?", "20.00000"),
            ("1MO?", "1"),  # esp.x.enabled
            ("1SN?", "2"),  # esp.x.units: millimeter
            ("1SN2", None),
            ("1DH", None),  # esp.x.zero()
            ("1TP", "0.00000"),
            ("1DH2.5", None),  # esp.x.define_position(2.5)
            ("1TP", "2.50000"),
            ("3SN?", "2"),
            ("1MF", None),  # esp.disable()
            ("2MF", None),
            ("3MF", None),
            ("1MO?", "0"),
        ]
    )
    # esp.errors reads TE? until 0; an axis code is axis * 100 + the manual's axis error.
    esp300.send("2PA30")
    esp300.send("2PA-99")
    assert [esp300.ask("TE?") for _ in range(3)] == ["213", "213", "0"]


def test_a_session_shaped_like_the_epics_motor_driver(esp300: Esp300Client) -> None:
    """Two-digit axis numbers, ``MD`` without ``?`` and ``TE?`` after an axis number."""
    assert esp300.ask("VE?").startswith("ESP300")
    esp300.send("01ST")
    esp300.replay(
        [
            ("01MD", "1"),
            ("01TP", "0.00000"),
            ("01MO?", "1"),
            ("01TE?", "0"),
            ("01PA1.5", None),
            ("01WS", None),
            ("01TP", "1.50000"),
        ]
    )


def test_wait_for_stop_holds_later_lines(esp300: Esp300Client) -> None:
    esp300.send("2PA20")
    assert esp300.ask("2MD?") == "0"
    esp300.send("2WS")
    assert esp300.ask("2MD?;2TP") == "1,20.00000"


def test_stopping_the_simulator_ends_a_wait_for_stop() -> None:
    # Real time: the move takes 8.25 s.
    with MotionSimulator(port=0) as sim, Esp300Client(sim.port) as client:
        client.send("1PA40")
        assert client.ask("1MD?") == "0"
        client.send("1WS")
        began = time.monotonic()
        sim.stop()
        assert time.monotonic() - began < 4.0


def test_the_simulator_process_speaks_the_manual(esp300_process: int) -> None:
    with Esp300Client(esp300_process) as client:
        client.replay([("1OR", None), ("1WS", None), ("1TP", "0.00000"), ("1MD", "1")])
        client.send("4PA171")
        assert client.ask("TB?").startswith("406, ")
