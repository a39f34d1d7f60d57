"""Channel lists as SCPI writes them: ``(@101:110,201,205:207)`` (pure, no I/O).

The DAQ has two multiplexer cards of 20 channels each, numbered card × 100 +
channel (101-120 and 201-220). A range may not run from one card into the
other, as on the instrument. The driver and the simulator share this module, so
both agree on what a channel list means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from controlroom.devices.daq.replies import DaqError

CARDS = (1, 2)
CHANNELS_PER_CARD = 20
ALL_CHANNELS = tuple(card * 100 + n for card in CARDS for n in range(1, CHANNELS_PER_CARD + 1))
_VALID = frozenset(ALL_CHANNELS)
_ITEM = re.compile(r"\s*(\d{3})\s*(?::\s*(\d{3})\s*)?")
MAX_SPAN_TEXT = 200
"""Longest channel-list text accepted; a real list of every channel is well below."""


class ChannelListError(DaqError, ValueError):
    """A channel list that names no channel, a channel that does not exist, or bad syntax."""


def parse_channels(text: str) -> list[int]:
    """``"(@101:103,201)"`` or ``"101:103, 201"`` → ``[101, 102, 103, 201]``, in the order given."""
    body = text.strip()
    if len(body) > MAX_SPAN_TEXT:
        raise ChannelListError(f"channel list longer than {MAX_SPAN_TEXT} characters")
    if body.startswith("("):
        if not body.endswith(")") or not body[1:].lstrip().startswith("@"):
            raise ChannelListError(f"expected (@...), got {text!r}")
        body = body[1:-1].strip()[1:]
    if not body.strip():
        raise ChannelListError("the channel list is empty")
    channels: list[int] = []
    for item in body.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ChannelListError(f"{item.strip()!r} is not a channel or a range like 101:110")
        channels.extend(_expand(int(match[1]), int(match[2] or match[1])))
    if len(set(channels)) != len(channels):
        raise ChannelListError(f"a channel appears twice in {text!r}")
    return channels


def _expand(first: int, last: int) -> list[int]:
    for channel in (first, last):
        if channel not in _VALID:
            raise ChannelListError(
                f"no channel {channel}: the channels are 101-{100 + CHANNELS_PER_CARD} "
                f"and 201-{200 + CHANNELS_PER_CARD}"
            )
    if first // 100 != last // 100:
        raise ChannelListError(f"the range {first}:{last} runs across two cards")
    if last < first:
        raise ChannelListError(f"the range {first}:{last} runs backwards")
    return list(range(first, last + 1))


def parse_scan_reply(text: str) -> list[int]:
    """What ``ROUT:SCAN?`` answers: ``"(@101:103)"``, or ``"(@)"`` for an empty scan list."""
    if text.replace(" ", "") == "(@)":
        return []
    return parse_channels(text)


def format_channels(channels: Iterable[int]) -> str:
    """``[101, 102, 103, 201]`` → ``"101:103,201"``: consecutive channels become ranges."""
    parts: list[str] = []
    run: list[int] = []
    for channel in channels:
        if run and channel == run[-1] + 1 and channel // 100 == run[0] // 100:
            run.append(channel)
            continue
        if run:
            parts.append(_run_text(run))
        run = [channel]
    if run:
        parts.append(_run_text(run))
    return ",".join(parts)


def _run_text(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}:{run[-1]}"


def scpi_list(channels: Iterable[int]) -> str:
    """``[105]`` → ``"(@105)"``."""
    return f"(@{format_channels(channels)})"


@dataclass(frozen=True)
class ChannelList:
    """Validator for a channel-list argument: checks every channel, returns the compact form.

    Accepts ``"101:110,201"`` or ``"(@101:110)"``, spaces allowed, so the CLI,
    the web forms and scripts can pass what is natural.
    """

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"expected a channel list like '101:110,201', got {value!r}")
        try:
            return format_channels(parse_channels(value))
        except ChannelListError as exc:
            raise ValueError(str(exc)) from None

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^\(?@?[0-9:, ]+\)?$", "examples": ["101:110,201"]}


def channel_list() -> ChannelList:
    return ChannelList()
