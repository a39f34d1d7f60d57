"""Driver for a three-channel SCPI bench power supply (raw socket, port 5025).

The command subset is the one R&S HMP, Keysight E36xx and Rigol DP800 share.
A SCPI supply applies ``VOLT``/``CURR``/``OUTP`` to the *selected* channel, so
selecting and setting as two exchanges would let another client (or the HK
poll) slip in between. Every channel command is therefore one line:
``INST:NSEL <n>;:<command>``, and every setting also starts with ``*CLS`` and
ends with ``SYST:ERR?``, so the error read back is the setting's own and a
refused setting raises
:class:`~controlroom.device.replies.CommandRefused` at once, in the same exchange.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Annotated, Any

from controlroom.device import ArgumentError, Controller, ReplyError, choices, command, in_range
from controlroom.device.replies import check_error, parse_bool, parse_error, parse_float
from controlroom.devices.psu.ratings import (
    CHANNELS,
    MAX_AMPS,
    MAX_OCP_DELAY_S,
    MAX_OVP_VOLTS,
    MAX_VOLTS,
    RATINGS,
)

Channel = Annotated[int, choices(*CHANNELS)]
Volts = Annotated[float, in_range(0.0, MAX_VOLTS)]
Amps = Annotated[float, in_range(0.0, MAX_AMPS)]
OvpVolts = Annotated[float, in_range(0.0, MAX_OVP_VOLTS)]
Seconds = Annotated[float, in_range(0.0, MAX_OCP_DELAY_S)]


class OutputMode(enum.Enum):
    """What regulates an output: its voltage setting, its current limit, or nothing (off)."""

    CV = "CV"
    CC = "CC"
    OFF = "OFF"


def parse_mode(reply: str) -> OutputMode:
    try:
        return OutputMode(reply.strip().upper())
    except ValueError:
        raise ReplyError(f"expected CV, CC or OFF from the supply, got {reply!r}") from None


def _on_off(value: bool) -> str:
    return "ON" if value else "OFF"


def _setting(template: str) -> dict[str, Any]:
    return {
        "kind": "transaction",
        "cmd": f"*CLS;:INST:NSEL $channel;:{template};:SYST:ERR?",
        "check": check_error,
    }


def _switch(header: str) -> Callable[..., str]:
    def prepare(channel: int, on: bool) -> str:
        return f"*CLS;:INST:NSEL {channel};:{header} {_on_off(on)};:SYST:ERR?"

    return prepare


def _within_rating(**limits: str) -> Callable[..., None]:
    """A ``before`` hook: the declared range is the widest channel's; this checks the channel's."""

    def check(owner: object, channel: int, **arguments: Any) -> None:
        rating = RATINGS[channel]
        bounds = {"volts": rating.max_volts, "amps": rating.max_amps, "ovp": rating.max_ovp_volts}
        for argument, bound in limits.items():
            if arguments[argument] > bounds[bound]:
                raise ArgumentError(
                    f"{argument}={arguments[argument]!r} is above channel {channel}'s "
                    f"rating of {bounds[bound]}"
                )

    return check


def _query(command_text: str) -> str:
    return f"INST:NSEL $channel;:{command_text}"


class PsuController(Controller):
    """A three-channel bench supply: 2 × 0–32 V / 0–3 A and 1 × 0–6 V / 0–3 A."""

    transport_defaults = {"read_terminator": "\n", "write_terminator": "\n"}
    hk_min_period_s = 0.2  # six measurements, each an A/D conversion of ~10 ms
    status_min_period_s = 0.2

    @command("query", "*IDN?")
    def identify(self) -> str:
        """Manufacturer, model, serial number and firmware version."""

    @command("write", "*RST")
    def reset(self) -> None:
        """Reset to power-up settings: outputs off, 0 V, 1 A limits, protections cleared."""

    @command("write", "*CLS")
    def clear_status(self) -> None:
        """Clear the status registers and the error queue."""

    @command("query", "SYST:ERR?", parse=parse_error)
    def next_error(self) -> tuple[int, str]:
        """The oldest entry of the error queue as (code, message); (0, "No error") when empty."""

    @command("write", "INST:NSEL ${channel}")
    def select_channel(self, channel: Channel) -> None:
        """Select the channel that unqualified commands apply to (front panel too)."""

    @command("query", "INST:NSEL?", parse=lambda r: int(parse_float(r)))
    def selected_channel(self) -> int:
        """The channel selected now."""

    @command("query", _query("VOLT?"), parse=parse_float)
    def voltage(self, channel: Channel = 1) -> float:
        """Voltage setting of a channel, in volts."""

    @command(**_setting("VOLT ${volts}"), before=_within_rating(volts="volts"))
    def set_voltage(self, channel: Channel, volts: Volts) -> None:
        """Set the voltage of a channel (the output regulates to it in constant-voltage mode)."""

    @command("query", _query("CURR?"), parse=parse_float)
    def current_limit(self, channel: Channel = 1) -> float:
        """Current limit of a channel, in amperes."""

    @command(**_setting("CURR ${amps}"), before=_within_rating(amps="amps"))
    def set_current_limit(self, channel: Channel, amps: Amps) -> None:
        """Set the current limit of a channel (constant-current mode holds it)."""

    @command(
        **_setting("APPL ${volts},${amps}"),
        before=_within_rating(volts="volts", amps="amps"),
    )
    def apply(self, channel: Channel, volts: Volts, amps: Amps) -> None:
        """Set the voltage and the current limit of a channel together."""

    @command("query", _query("OUTP?"), parse=parse_bool)
    def output(self, channel: Channel = 1) -> bool:
        """True when a channel's output is on."""

    @command(kind="transaction", prepare=_switch("OUTP"), check=check_error)
    def set_output(self, channel: Channel, on: bool) -> None:
        """Switch a channel's output on or off (refused while a protection is tripped)."""

    @command("query", _query("OUTP:MODE?"), parse=parse_mode)
    def mode(self, channel: Channel = 1) -> OutputMode:
        """Whether a channel is in constant voltage (CV), constant current (CC) or off."""

    @command("query", _query("MEAS:VOLT?"), parse=parse_float)
    def measure_voltage(self, channel: Channel = 1) -> float:
        """Measured output voltage of a channel, in volts."""

    @command("query", _query("MEAS:CURR?"), parse=parse_float)
    def measure_current(self, channel: Channel = 1) -> float:
        """Measured output current of a channel, in amperes."""

    @command("query", _query("VOLT:PROT?"), parse=parse_float)
    def ovp_level(self, channel: Channel = 1) -> float:
        """Over-voltage protection level of a channel, in volts."""

    @command(**_setting("VOLT:PROT ${volts}"), before=_within_rating(volts="ovp"))
    def set_ovp_level(self, channel: Channel, volts: OvpVolts) -> None:
        """Set the over-voltage protection level: the output switches off above it."""

    @command("query", _query("VOLT:PROT:TRIP?"), parse=parse_bool)
    def ovp_tripped(self, channel: Channel = 1) -> bool:
        """True once the over-voltage protection has switched the output off, until cleared."""

    @command(**_setting("VOLT:PROT:CLE"))
    def clear_ovp(self, channel: Channel) -> None:
        """Clear a tripped over-voltage protection (the output stays off until switched on)."""

    @command("query", _query("CURR:PROT?"), parse=parse_bool)
    def ocp_enabled(self, channel: Channel = 1) -> bool:
        """True when the over-current protection (electronic fuse) of a channel is armed."""

    @command(kind="transaction", prepare=_switch("CURR:PROT"), check=check_error)
    def set_ocp(self, channel: Channel, on: bool) -> None:
        """Arm or disarm the electronic fuse: it trips when the current limit is reached."""

    @command("query", _query("CURR:PROT:DEL?"), parse=parse_float)
    def ocp_delay(self, channel: Channel = 1) -> float:
        """Seconds a channel may stay in current limit before its armed fuse trips."""

    @command(**_setting("CURR:PROT:DEL ${seconds}"))
    def set_ocp_delay(self, channel: Channel, seconds: Seconds) -> None:
        """Let an armed fuse ride through an inrush of up to ``seconds`` in current limit."""

    @command("query", _query("CURR:PROT:TRIP?"), parse=parse_bool)
    def ocp_tripped(self, channel: Channel = 1) -> bool:
        """True once the fuse has switched the output off, until cleared."""

    @command(**_setting("CURR:PROT:CLE"))
    def clear_ocp(self, channel: Channel) -> None:
        """Clear a tripped fuse (the output stays off until switched on)."""

    @command(access="read")
    def errors(self) -> list[tuple[int, str]]:
        """Read the error queue until it is empty; the oldest entry first."""
        found: list[tuple[int, str]] = []
        for _ in range(_ERROR_QUEUE_DEPTH + 1):  # bounded: a queue that never empties is a fault
            code, message = self.next_error()
            if code == 0:
                return found
            found.append((code, message))
        raise ReplyError(f"the supply's error queue did not empty: {found!r}")

    def housekeeping(self) -> dict[str, Any]:
        # One line for all channels: one exchange, and no other command between select and read.
        return self._sample(_HK_QUERIES)

    def status(self) -> dict[str, Any]:
        return self._sample(_HK_QUERIES + _TRIP_QUERIES)

    def _sample(self, queries: tuple[str, ...]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for channel, replies in self._per_channel(queries).items():
            for query, reply in zip(queries, replies, strict=True):
                name, parse = _SAMPLED[query]
                values[f"{name}_{channel}"] = parse(reply)
        return values

    def _per_channel(self, queries: tuple[str, ...]) -> dict[int, list[str]]:
        line = ";:".join(f"INST:NSEL {channel};:" + ";:".join(queries) for channel in CHANNELS)
        parts = self.transport.query(line).split(";")
        if len(parts) != len(queries) * len(CHANNELS):
            raise ReplyError(f"expected {len(queries) * len(CHANNELS)} replies, got {parts!r}")
        n = len(queries)
        return {ch: parts[i * n : (i + 1) * n] for i, ch in enumerate(CHANNELS)}


_ERROR_QUEUE_DEPTH = 10
_HK_QUERIES = ("MEAS:VOLT?", "MEAS:CURR?", "OUTP?", "OUTP:MODE?")
_TRIP_QUERIES = ("VOLT:PROT:TRIP?", "CURR:PROT:TRIP?")
_SAMPLED: dict[str, tuple[str, Callable[[str], Any]]] = {
    "MEAS:VOLT?": ("voltage", parse_float),
    "MEAS:CURR?": ("current", parse_float),
    "OUTP?": ("output", parse_bool),
    "OUTP:MODE?": ("mode", lambda reply: parse_mode(reply).value),
    "VOLT:PROT:TRIP?": ("ovp_tripped", parse_bool),
    "CURR:PROT:TRIP?": ("ocp_tripped", parse_bool),
}
"""What each sampled query is called in housekeeping and status, and how its reply reads."""
