"""SCPI handlers for switching and watching outputs: OUTPut, MEASure, FUSE and the CV/CC status.

The HMP4040 switches in two stages: ``OUTP:SEL ON`` makes the selected
channel *active*, ``OUTP:GEN ON`` (the master output) connects every active
channel at once. ``OUTP ON`` does both for the selected channel;
``OUTP OFF`` deactivates it and leaves the master as it is. Activating a
channel whose over-voltage protection has tripped is refused (-221) until
``VOLT:PROT:CLE``; switching a channel whose fuse has tripped re-arms the
fuse. ``STAT:QUES:INST:ISUM<n>:COND?`` holds a channel's regulation in bit 0
(CC) and bit 1 (CV), and its trips in bit 9 (OVP) and bit 10 (fuse).
"""

from __future__ import annotations

from controlroom.device.simkit.params import expect, format_bool, to_bool, to_int, to_number
from controlroom.device.simkit.scpi import Handler, ScpiError
from controlroom.devices.psu.ratings import CHANNELS, MAX_FUSE_DELAY_MS
from controlroom.devices.psu.sim.source import format_amps, format_volts
from controlroom.devices.psu.sim.state import PsuState

CC_BIT, CV_BIT, OVP_BIT, FUSE_BIT = 1 << 0, 1 << 1, 1 << 9, 1 << 10


def _activate(state: PsuState, on: bool) -> None:
    ch = state.channel
    if on and ch.ovp_tripped:
        raise ScpiError(-221, f"OVP tripped on channel {state.selected}, clear it first")
    ch.active, ch.fuse_tripped = on, False


def select_output(state: PsuState, args: list[str]) -> None:
    """``OUTP:SEL ON|OFF``: (de)activate the selected channel; the master decides the rest."""
    _activate(state, to_bool(expect(args, 1)[0]))


def output_selected(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_bool(state.channel.active)


def switch_general(state: PsuState, args: list[str]) -> None:
    state.master = to_bool(expect(args, 1)[0])


def general(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_bool(state.master)


def switch_output(state: PsuState, args: list[str]) -> None:
    """``OUTP ON`` activates the channel and the master; ``OUTP OFF`` only deactivates it."""
    on = to_bool(expect(args, 1)[0])
    _activate(state, on)
    if on:
        state.master = True


def output(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    ch = state.channel
    return format_bool(ch.active and state.master)


def measure_volts(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_volts(state.channel.measure_volts(state.rng))


def measure_amps(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_amps(state.channel.measure_amps(state.rng))


def arm_fuse(state: PsuState, args: list[str]) -> None:
    state.channel.fuse_armed = to_bool(expect(args, 1)[0])


def fuse_armed(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_bool(state.channel.fuse_armed)


def set_fuse_delay(state: PsuState, args: list[str]) -> None:
    """``FUSE:DEL <ms>``: the instrument counts its fuse delay in milliseconds."""
    millis = to_number(expect(args, 1)[0], 0, MAX_FUSE_DELAY_MS, default=0)
    state.channel.fuse_delay_s = round(millis) / 1000


def get_fuse_delay(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return str(round(state.channel.fuse_delay_s * 1000))


def fuse_tripped(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_bool(state.channel.fuse_tripped)


def _other_channel(state: PsuState, args: list[str]) -> int:
    other = to_int(expect(args, 1)[0], CHANNELS[0], CHANNELS[-1])
    if other == state.selected:
        raise ScpiError(-224, f"channel {other} cannot be linked to itself")
    return other


def link_fuse(state: PsuState, args: list[str]) -> None:
    """``FUSE:LINK <n>``: when this channel's fuse trips, channel n switches off too."""
    state.channel.fuse_links.add(_other_channel(state, args))


def fuse_linked(state: PsuState, args: list[str]) -> str:
    return format_bool(_other_channel(state, args) in state.channel.fuse_links)


def unlink_fuse(state: PsuState, args: list[str]) -> None:
    state.channel.fuse_links.discard(_other_channel(state, args))


def condition(channel: int) -> Handler[PsuState]:
    """``STAT:QUES:INST:ISUM<channel>:COND?``, for one channel whichever is selected."""

    def answer(state: PsuState, args: list[str]) -> str:
        expect(args, 0)
        ch = state.channels[channel]
        bits = {"CC": CC_BIT, "CV": CV_BIT, "OFF": 0}[ch.mode]
        bits |= (OVP_BIT if ch.ovp_tripped else 0) | (FUSE_BIT if ch.fuse_tripped else 0)
        return str(bits)

    return answer
