"""Driver for the Lake Shore Model 336 temperature controller (remote interface over TCP).

Every setting command is sent together with ``*ESR?`` on one line (the 336
executes ``;``-separated commands in order), so a command the instrument
refused comes back as an error at once instead of failing silently, and it
costs one exchange, not two.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

from controlroom.device import Controller, ReplyError, choices, command, in_range, max_length
from controlroom.device.replies import CommandRefused, parse_float, parse_floats, parse_int

Input = Annotated[str, choices("A", "B", "C", "D")]
Output = Annotated[int, choices(1, 2)]
Kelvin = Annotated[float, in_range(0.0, 1500.0)]
Percent = Annotated[float, in_range(0.0, 100.0)]
RampRate = Annotated[float, in_range(0.1, 100.0)]  # K/min

INPUTS = ("A", "B", "C", "D")
_ESR_EXECUTION_ERROR = 16
_ESR_COMMAND_ERROR = 32


class HeaterRange(enum.IntEnum):
    OFF = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


class OutputMode(enum.IntEnum):
    OFF = 0
    CLOSED_LOOP = 1
    ZONE = 2
    OPEN_LOOP = 3


class HeaterStatus(enum.IntEnum):
    OK = 0
    OPEN_LOAD = 1
    SHORT = 2


def check_esr(reply: str) -> None:
    """Raise if the ``*ESR?`` answer that follows a setting shows it was refused."""
    try:
        esr = int(reply.strip().split(";")[-1])
    except ValueError:
        raise ReplyError(f"expected the event status register, got {reply!r}") from None
    if esr & _ESR_COMMAND_ERROR:
        raise CommandRefused(f"the 336 did not understand the command (ESR={esr})")
    if esr & _ESR_EXECUTION_ERROR:
        raise CommandRefused(f"the 336 could not execute the command (ESR={esr})")


def _parse_mode_reply(reply: str) -> dict[str, Any]:
    mode, control, powerup = (parse_int(p) for p in reply.split(","))
    return {
        "mode": OutputMode(mode),
        "input": INPUTS[control - 1] if control else None,
        "powerup_enable": bool(powerup),
    }


def _parse_ramp_reply(reply: str) -> dict[str, Any]:
    enabled, rate = reply.split(",")
    return {"enabled": parse_int(enabled) == 1, "rate": parse_float(rate)}


def _setting(template: str) -> dict[str, Any]:
    return {"kind": "transaction", "cmd": template + ";*ESR?", "check": check_esr}


class TempCtlController(Controller):
    """Lake Shore Model 336: four sensor inputs (A–D), two heater outputs (1, 2)."""

    transport_defaults = {"read_terminator": "\r\n", "write_terminator": "\r\n"}
    hk_min_period_s = 0.1  # the 336 updates each reading at 10 Hz
    status_min_period_s = 0.1

    @command("query", "*IDN?")
    def identify(self) -> str:
        """Manufacturer, model, serial number and firmware version."""

    @command("query", "KRDG? ${input}", parse=parse_float)
    def temperature(self, input: Input = "A") -> float:
        """Temperature of one input, in kelvin."""

    @command("query", "KRDG? 0", parse=parse_floats)
    def temperatures(self) -> list[float]:
        """Temperatures of inputs A, B, C and D, in kelvin, in one exchange."""

    @command("query", "CRDG? ${input}", parse=parse_float)
    def temperature_celsius(self, input: Input = "A") -> float:
        """Temperature of one input, in degrees Celsius."""

    @command("query", "SRDG? ${input}", parse=parse_float)
    def sensor_reading(self, input: Input = "A") -> float:
        """Raw sensor reading of one input (ohms or volts, by sensor type)."""

    @command("query", "RDGST? ${input}", parse=parse_int)
    def reading_status(self, input: Input = "A") -> int:
        """Reading status bits of one input (0: valid; 1 invalid, 16/32 under/over range...)."""

    @command("query", "SETP? ${output}", parse=parse_float)
    def setpoint(self, output: Output = 1) -> float:
        """Control setpoint of an output, in kelvin."""

    @command(**_setting("SETP ${output},${kelvin}"))
    def set_setpoint(self, output: Output, kelvin: Kelvin) -> None:
        """Set the control setpoint of an output (ramps there if ramping is on)."""

    @command("query", "RANGE? ${output}", parse=lambda r: HeaterRange(parse_int(r)))
    def heater_range(self, output: Output = 1) -> HeaterRange:
        """Heater range of an output: OFF, LOW, MEDIUM or HIGH."""

    @command(**_setting("RANGE ${output},${heater_range}"))
    def set_heater_range(self, output: Output, heater_range: HeaterRange) -> None:
        """Switch the heater of an output to a range (OFF switches it off)."""

    @command("query", "HTR? ${output}", parse=parse_float)
    def heater_output(self, output: Output = 1) -> float:
        """Heater output of an output, in percent of its range."""

    @command("query", "HTRST? ${output}", parse=lambda r: HeaterStatus(parse_int(r)))
    def heater_status(self, output: Output = 1) -> HeaterStatus:
        """Heater fault state of an output: OK, OPEN_LOAD or SHORT."""

    @command("query", "MOUT? ${output}", parse=parse_float)
    def manual_output(self, output: Output = 1) -> float:
        """Manual (open-loop) heater output of an output, in percent."""

    @command(**_setting("MOUT ${output},${percent}"))
    def set_manual_output(self, output: Output, percent: Percent) -> None:
        """Set the manual heater output used in open-loop mode, in percent."""

    @command("query", "OUTMODE? ${output}", parse=_parse_mode_reply)
    def output_mode(self, output: Output = 1) -> dict[str, Any]:
        """Control mode, control input and power-up enable of an output."""

    @command(
        kind="transaction",
        prepare=lambda output, mode, input, powerup_enable: (
            f"OUTMODE {output},{int(mode)},{INPUTS.index(input) + 1 if input else 0},"
            f"{int(powerup_enable)};*ESR?"
        ),
        check=check_esr,
    )
    def set_output_mode(
        self,
        output: Output,
        mode: OutputMode,
        input: Annotated[str, choices("A", "B", "C", "D")] | None = "A",
        powerup_enable: bool = False,
    ) -> None:
        """Set the control mode of an output and the input it controls (None: no input)."""

    @command("query", "PID? ${output}", parse=parse_floats)
    def pid(self, output: Output = 1) -> list[float]:
        """Proportional (gain), integral (reset, repeats/min) and derivative (%) of an output."""

    @command(**_setting("PID ${output},${p},${i},${d}"))
    def set_pid(
        self,
        output: Output,
        p: Annotated[float, in_range(0.1, 1000.0)],
        i: Annotated[float, in_range(0.1, 1000.0)],
        d: Annotated[float, in_range(0.0, 200.0)],
    ) -> None:
        """Set the PID parameters of an output."""

    @command("query", "RAMP? ${output}", parse=_parse_ramp_reply)
    def ramp(self, output: Output = 1) -> dict[str, Any]:
        """Whether setpoint ramping is on for an output, and its rate in K/min."""

    @command(**_setting("RAMP ${output},${enabled},${rate}"))
    def set_ramp(self, output: Output, enabled: bool, rate: RampRate) -> None:
        """Switch setpoint ramping of an output on or off, at a rate in K/min."""

    @command("query", "RAMPST? ${output}", parse=lambda r: parse_int(r) == 1)
    def ramping(self, output: Output = 1) -> bool:
        """True while the setpoint of an output is ramping."""

    @command("query", "INNAME? ${input}", parse=lambda r: r.strip().strip('"').rstrip())
    def input_name(self, input: Input = "A") -> str:
        """The name given to an input."""

    @command(**_setting('INNAME ${input},"${name}"'))
    def set_input_name(self, input: Input, name: Annotated[str, max_length(15)]) -> None:
        """Name an input (at most 15 characters, as the front panel shows)."""

    @command(**_setting("*CLS"))
    def clear_status(self) -> None:
        """Clear the status registers."""

    @command("write", "*RST")
    def reset(self) -> None:
        """Reset the instrument to its power-up settings."""

    @command()
    def ramp_to(self, output: Output, kelvin: Kelvin, rate: RampRate) -> None:
        """Ramp an output's setpoint to a temperature at a rate in K/min."""
        self.set_ramp(output, True, rate)
        self.set_setpoint(output, kelvin)

    def housekeeping(self) -> dict[str, Any]:
        # One exchange for the whole sample: the 336 answers ;-joined queries in order.
        reply = self.transport.query("KRDG? 0;HTR? 1;HTR? 2;SETP? 1;SETP? 2;RAMPST? 1;RAMPST? 2")
        parts = reply.split(";")
        if len(parts) != 7:
            raise ReplyError(f"unexpected housekeeping reply from the 336: {reply!r}")
        temps = parse_floats(parts[0])
        values: dict[str, Any] = {f"temp_{name}": t for name, t in zip(INPUTS, temps, strict=True)}
        values |= {"heater_1": parse_float(parts[1]), "heater_2": parse_float(parts[2])}
        values |= {"setpoint_1": parse_float(parts[3]), "setpoint_2": parse_float(parts[4])}
        values |= {"ramping_1": parts[5].strip() == "1", "ramping_2": parts[6].strip() == "1"}
        return values

    def status(self) -> dict[str, Any]:
        return self.housekeeping()
