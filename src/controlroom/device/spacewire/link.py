"""The packet layer of a SpaceWire link: checked packets, timecodes, counters.

A subclass moves raw messages (``_send``/``_receive``); :class:`PacketLink`
makes them a link: every packet read is checked (RMAP CRCs, FEE header and
length), a corrupt one is counted, reported once per burst and skipped, so
the reader keeps going; timecodes are checked for 0..63. Packets that arrive
while an RMAP reply is awaited (see :mod:`.interface`) are kept, in order, for
the next ``read_packet`` calls, in a bounded buffer.

One thread uses a link at a time (ZeroMQ sockets are not thread-safe).
"""

from __future__ import annotations

import abc
import logging
import time
from collections import deque
from types import TracebackType
from typing import Self

from controlroom.device.errors import ArgumentError
from controlroom.device.spacewire.counters import CorruptionReport, LinkCounters
from controlroom.device.spacewire.crc import BytesLike
from controlroom.device.spacewire.errors import CorruptPacket, NoPacket, PendingFull
from controlroom.device.spacewire.packets import Packet, classify

_LOG = logging.getLogger(__name__)

PACKET = 1  # flags of read_packet: a SpaceWire packet
TIMECODE = 2  # flags of read_packet: a timecode (one byte, 0..63)
# What read_packet returns: bytes, or a read-only view where a transport received
# a large packet without copying it (classify, numpy and bytes() take either).
PacketData = bytes | memoryview

DEFAULT_MAX_PENDING_PACKETS = 4096
DEFAULT_MAX_PENDING_BYTES = 256 * 1024 * 1024  # a few frames of a full-image readout


class PacketLink(abc.ABC):
    """Packets and timecodes over one link to one peer; see the module docstring.

    ``max_pending_packets``/``max_pending_bytes`` bound the packets kept during
    RMAP waits (the bytes limit may be passed by the one packet that reaches it).
    """

    def __init__(
        self,
        *,
        max_pending_packets: int = DEFAULT_MAX_PENDING_PACKETS,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        name: str | None = None,
    ) -> None:
        if max_pending_packets < 1 or max_pending_bytes < 1:
            raise ArgumentError("the pending buffer needs room for at least one packet")
        self.max_pending_packets = max_pending_packets
        self.max_pending_bytes = max_pending_bytes
        self.name = name or type(self).__name__
        self.counters = LinkCounters()
        self._report = CorruptionReport(_LOG)
        self._pending: deque[tuple[int, PacketData]] = deque()
        self._pending_bytes = 0

    # -- what a subclass provides --------------------------------------------------------

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the link (the parameters were given to the constructor)."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Close the link; harmless when it is not open."""

    @abc.abstractmethod
    def configure(self) -> None:
        """Bring the link up as the constructor's parameters say; raise if it does not come."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Discard what is waiting on the link, and the packets kept during RMAP waits."""

    @abc.abstractmethod
    def _send(self, flags: int, data: BytesLike) -> None:
        """Send one packet (PACKET) or timecode (TIMECODE)."""

    @abc.abstractmethod
    def _receive(self, timeout: float | None) -> tuple[int, PacketData] | None:
        """The next (flags, data) received, or None if ``timeout`` seconds passed first.

        CorruptPacket when what arrived is not a message of the link at all.
        """

    # -- packets and timecodes ---------------------------------------------------------

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()

    def send_timecode(self, timecode: int) -> None:
        if not 0 <= timecode <= 63:
            raise ArgumentError(f"a timecode is 0..63, not {timecode}")
        self._send(TIMECODE, bytes((timecode,)))
        self.counters.timecodes_out += 1

    def write_packet(self, data: BytesLike) -> None:
        if len(data) < 2:
            raise ArgumentError(
                f"a packet has at least a logical address and a protocol id: {data!r}"
            )
        self._send(PACKET, data)
        self.counters.packets_out += 1
        self.counters.bytes_out += len(data)

    def read_packet(self, timeout: float | None = None) -> tuple[int, PacketData]:
        """The next (flags, data): (PACKET, packet) or (TIMECODE, one byte 0..63).

        ``timeout`` in seconds (None: wait as long as it takes); NoPacket when it
        passes first. Packets kept while an RMAP reply was awaited come first.
        """
        flags, data, _ = self.read_parsed(timeout)
        return flags, data

    def read_parsed(self, timeout: float | None = None) -> tuple[int, PacketData, Packet | None]:
        """:meth:`read_packet`, with the packet parsed as the link checked it (None for a
        timecode): a reader of the FEE's stream parses none of its packets twice."""
        if self._pending:
            flags, data = self._pending.popleft()
            self._pending_bytes -= len(data)
            return flags, data, None if flags == TIMECODE else classify(data)
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._next(deadline)

    def _next(self, deadline: float | None) -> tuple[int, PacketData, Packet | None]:
        """The next good message from the link, with its packet (None: a timecode).

        Every packet is parsed once, here: a full-frame stream is over a thousand
        packets a readout, and its reader takes them as parsed.
        """
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                received = self._receive(left)
                if received is None:
                    raise NoPacket(f"{self.name}: nothing received within the timeout")
                flags, data = received
                packet = self._check(flags, data)
            except CorruptPacket as error:
                self.counters.corrupt += 1
                self._report.corrupt(self.name, error.reason)
                continue
            self._report.good(self.name)
            if flags == TIMECODE:
                self.counters.timecodes_in += 1
            else:
                self.counters.packets_in += 1
                self.counters.bytes_in += len(data)
            return flags, data, packet

    @staticmethod
    def _check(flags: int, data: PacketData) -> Packet | None:
        if flags == TIMECODE:
            if len(data) != 1 or data[0] > 63:
                raise CorruptPacket(f"a timecode is one byte 0..63, not {bytes(data[:8])!r}")
            return None
        if flags != PACKET:
            raise CorruptPacket(f"unknown flags {flags} (PACKET is {PACKET}, TIMECODE {TIMECODE})")
        return classify(data)

    def _keep(self, flags: int, data: PacketData) -> None:
        """Keep a packet that arrived during an RMAP wait for read_packet."""
        self._pending.append((flags, data))
        self._pending_bytes += len(data)

    def _check_pending_room(self) -> None:
        if (
            len(self._pending) >= self.max_pending_packets
            or self._pending_bytes >= self.max_pending_bytes
        ):
            self.counters.pending_full += 1
            raise PendingFull(
                f"{self.name}: {len(self._pending)} packets ({self._pending_bytes} bytes) arrived "
                "while waiting for an RMAP reply and are kept for read_packet; the limit is "
                f"{self.max_pending_packets} packets or {self.max_pending_bytes} bytes"
            )

    def _drop_pending(self) -> int:
        """Forget the kept packets (flush); returns how many there were."""
        count = len(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        return count
