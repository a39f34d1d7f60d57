"""What a SpaceWire link counts, and how it reports corrupt packets without flooding the log.

A link with a loose connector can deliver thousands of corrupt packets a
second; one log line per packet would bury everything else. So the first
corrupt packet of a burst is logged with its reason, the rest are only
counted, and the burst's size is logged when a good packet arrives again.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass


@dataclass
class LinkCounters:
    """Totals since the link object was made (``reset`` starts again)."""

    packets_in: int = 0  # good packets received (timecodes not included)
    bytes_in: int = 0  # bytes of those packets
    packets_out: int = 0
    bytes_out: int = 0
    timecodes_in: int = 0
    timecodes_out: int = 0
    corrupt: int = 0  # received and unusable: bad CRC, wrong length, unknown protocol, ...
    stray_replies: int = 0  # RMAP replies that answer no request waiting (late or unknown id)
    rmap_errors: int = 0  # RMAP replies with an error status
    pending_full: int = 0  # RMAP waits given up because too many other packets were kept
    flushed: int = 0  # packets discarded by flush()

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    def reset(self) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, 0)


class CorruptionReport:
    """Logs a burst of corrupt packets twice: at its first packet and when it ends."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._burst = 0

    @property
    def in_burst(self) -> bool:
        return self._burst > 0

    def corrupt(self, link: str, reason: str) -> None:
        """One corrupt packet: logged if it starts a burst, else only counted here."""
        if self._burst == 0:
            self._log.warning(
                "%s: corrupt packet dropped (%s); more until the next good packet are "
                "counted, not logged",
                link,
                reason,
            )
        self._burst += 1

    def good(self, link: str) -> None:
        """A good packet: ends the burst, if any, with one line saying how long it was."""
        if self._burst:
            self._log.warning(
                "%s: %d corrupt packets in a row before this good one", link, self._burst
            )
            self._burst = 0
