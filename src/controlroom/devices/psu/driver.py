"""Driver for a Rohde & Schwarz HMP4040 four-channel supply (raw SCPI socket, port 5025).

It speaks the HMP's own commands (see the HMP series manual): channel
selection ``INST:NSEL``, ``VOLT``, ``CURR``, ``APPL``, the two-stage output
switch (``OUTP:SEL`` per channel, ``OUTP:GEN`` for all), ``VOLT:PROT`` and the
electronic fuse ``FUSE``; the regulation mode comes from the status register
``STAT:QUES:INST:ISUM<n>:COND?``. How a line is built is in :mod:`.exchanges`.
"""

from __future__ import annotations

from typing import Annotated, Any

from controlroom.device import ArgumentError, Controller, ReplyError, choices, command, in_range
from controlroom.device.replies import check_error, parse_bool, parse_error, parse_float
from controlroom.devices.psu.exchanges import (
    HK_QUERIES,
    SAMPLED,
    TRIP_QUERIES,
    OutputMode,
    channel_query,
    checked,
    on_off,
    parse_condition,
    sample_line,
    setting,
    switch,
)
from controlroom.devices.psu.ratings import (
    CHANNELS,
    MAX_AMPS,
    MAX_FUSE_DELAY_S,
    MAX_OVP_VOLTS,
    MAX_VOLTS,
)

Channel = Annotated[int, choices(*CHANNELS)]
Volts = Annotated[float, in_range(0.0, MAX_VOLTS)]
Amps = Annotated[float, in_range(0.0, MAX_AMPS)]
OvpVolts = Annotated[float, in_range(0.0, MAX_OVP_VOLTS)]
FuseDelay = Annotated[float, in_range(0.0, MAX_FUSE_DELAY_S)]


def _fuse_delay(channel: int, seconds: float) -> str:
    # The instrument takes the delay in whole milliseconds.
    return checked(f"INST:NSEL {channel};:FUSE:DEL {round(seconds * 1000)}")


def _general(on: bool) -> str:
    return checked(f"OUTP:GEN {on_off(on)}")


def _other_channel(owner: object, channel: int, other: int) -> None:
    if other == channel:
        raise ArgumentError(f"channel {channel}'s fuse cannot be linked to itself")


class PsuController(Controller):
    """An R&S HMP4040: four outputs of 0-32 V / 0-10 A, at most 160 W each and 384 W in all."""

    transport_defaults = {"read_terminator": "\n", "write_terminator": "\n"}
    hk_min_period_s = 0.2  # eight measurements, each an A/D conversion of ~10 ms
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

    @command("query", channel_query("VOLT?"), parse=parse_float)
    def voltage(self, channel: Channel = 1) -> float:
        """Voltage setting of a channel, in volts."""

    @command(**setting("VOLT ${volts}"))
    def set_voltage(self, channel: Channel, volts: Volts) -> None:
        """Set the voltage of a channel (the output regulates to it in constant-voltage mode)."""

    @command("query", channel_query("CURR?"), parse=parse_float)
    def current_limit(self, channel: Channel = 1) -> float:
        """Current limit of a channel, in amperes."""

    @command(**setting("CURR ${amps}"))
    def set_current_limit(self, channel: Channel, amps: Amps) -> None:
        """Set the current limit of a channel (constant-current mode holds it; 160 W at most)."""

    @command(**setting("APPL ${volts},${amps}"))
    def apply(self, channel: Channel, volts: Volts, amps: Amps) -> None:
        """Set the voltage and the current limit of a channel together."""

    @command("query", channel_query("OUTP:STAT?"), parse=parse_bool)
    def output(self, channel: Channel = 1) -> bool:
        """True when a channel delivers: it is active and the master output is on."""

    @command(kind="transaction", prepare=switch("OUTP:STAT"), check=check_error)
    def set_output(self, channel: Channel, on: bool) -> None:
        """Switch a channel on (it becomes active and the master output goes on, which also
        connects any other active channel) or off (the master stays as it is). Refused while
        its over-voltage protection is tripped."""

    @command("query", channel_query("OUTP:SEL?"), parse=parse_bool)
    def output_selected(self, channel: Channel = 1) -> bool:
        """True when a channel is active: it delivers whenever the master output is on."""

    @command(kind="transaction", prepare=switch("OUTP:SEL"), check=check_error)
    def select_output(self, channel: Channel, on: bool) -> None:
        """Make a channel active or inactive without touching the master output."""

    @command("query", "OUTP:GEN?", parse=parse_bool)
    def general_output(self) -> bool:
        """True when the master output is on."""

    @command(kind="transaction", prepare=_general, check=check_error)
    def set_general_output(self, on: bool) -> None:
        """Switch the master output: every active channel goes on or off at once."""

    @command(kind="transaction", cmd=_general(False), check=check_error, interrupts=True)
    def outputs_off(self) -> None:
        """Every output off at once (the master output), even while another command runs."""

    @command("query", "STAT:QUES:INST:ISUM${channel}:COND?", parse=parse_condition)
    def mode(self, channel: Channel = 1) -> OutputMode:
        """Whether a channel is in constant voltage (CV), constant current (CC) or off."""

    @command("query", channel_query("MEAS:VOLT?"), parse=parse_float)
    def measure_voltage(self, channel: Channel = 1) -> float:
        """Measured output voltage of a channel, in volts."""

    @command("query", channel_query("MEAS:CURR?"), parse=parse_float)
    def measure_current(self, channel: Channel = 1) -> float:
        """Measured output current of a channel, in amperes."""

    @command("query", channel_query("VOLT:PROT?"), parse=parse_float)
    def ovp_level(self, channel: Channel = 1) -> float:
        """Over-voltage protection level of a channel, in volts."""

    @command(**setting("VOLT:PROT ${volts}"))
    def set_ovp_level(self, channel: Channel, volts: OvpVolts) -> None:
        """Set the over-voltage protection level: the output switches off above it."""

    @command("query", channel_query("VOLT:PROT:TRIP?"), parse=parse_bool)
    def ovp_tripped(self, channel: Channel = 1) -> bool:
        """True once the over-voltage protection has switched the output off, until cleared."""

    @command(**setting("VOLT:PROT:CLE"))
    def clear_ovp(self, channel: Channel) -> None:
        """Clear a tripped over-voltage protection (the output stays off until switched on)."""

    @command("query", channel_query("FUSE:STAT?"), parse=parse_bool)
    def ocp_enabled(self, channel: Channel = 1) -> bool:
        """True when the electronic fuse of a channel is armed."""

    @command(kind="transaction", prepare=switch("FUSE:STAT"), check=check_error)
    def set_ocp(self, channel: Channel, on: bool) -> None:
        """Arm or disarm the electronic fuse: it trips when the current limit is reached."""

    @command("query", channel_query("FUSE:DEL?"), parse=lambda r: parse_float(r) / 1000)
    def ocp_delay(self, channel: Channel = 1) -> float:
        """Seconds a channel may stay in current limit before its armed fuse trips."""

    @command(kind="transaction", prepare=_fuse_delay, check=check_error)
    def set_ocp_delay(self, channel: Channel, seconds: FuseDelay) -> None:
        """Let an armed fuse ride through an inrush of up to ``seconds`` (0.25 s at most)."""

    @command("query", channel_query("FUSE:TRIP?"), parse=parse_bool)
    def ocp_tripped(self, channel: Channel = 1) -> bool:
        """True once the fuse has switched the output off, until the channel is switched again."""

    @command(**setting("OUTP:SEL OFF"))
    def clear_ocp(self, channel: Channel) -> None:
        """Clear a tripped fuse. The HMP4040 has no command for it: switching the channel
        clears the trip, so this deactivates it (it stays off until switched on)."""

    @command(**setting("FUSE:LINK ${other}"), before=_other_channel)
    def link_fuse(self, channel: Channel, other: Channel) -> None:
        """When this channel's fuse trips, switch ``other`` off too."""

    @command(**setting("FUSE:UNL ${other}"), before=_other_channel)
    def unlink_fuse(self, channel: Channel, other: Channel) -> None:
        """Undo :meth:`link_fuse`."""

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
        return self._sample(HK_QUERIES)

    def status(self) -> dict[str, Any]:
        return self._sample(HK_QUERIES + TRIP_QUERIES)

    def _sample(self, queries: tuple[str, ...]) -> dict[str, Any]:
        parts = self.transport.query(sample_line(CHANNELS, queries)).split(";")
        if len(parts) != len(queries) * len(CHANNELS):
            raise ReplyError(f"expected {len(queries) * len(CHANNELS)} replies, got {parts!r}")
        values: dict[str, Any] = {}
        replies = iter(parts)
        for channel in CHANNELS:
            for query in queries:
                name, parse = SAMPLED[query]
                values[f"{name}_{channel}"] = parse(next(replies))
        return values


_ERROR_QUEUE_DEPTH = 10
