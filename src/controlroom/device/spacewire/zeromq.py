"""SpaceWireOverZeroMQ: a SpaceWire cable replaced by one ZeroMQ PAIR connection.

One link, one peer: a PAIR socket, one side binds and the other connects,
over ``tcp://`` or ``ipc://``. Each ZeroMQ message is one SpaceWire packet or
timecode, two frames: the flags (one byte, PACKET or TIMECODE) and the packet
(a timecode is one byte, 0..63).

Large frames are not copied: a packet of 64 KiB or more is sent from the
caller's ``bytes`` and handed back by ``read_packet`` as a read-only view on
the received frame. Below that a copy is cheaper than a frame object
(measured on loopback), so small packets are plain ``bytes``.

The link is a lab-internal cable: plain on loopback and ipc, and refused on
any other address unless the sockets are CURVE (a process whose ZeroMQ
context was secured with :mod:`controlroom.rpc.curve`). A peer that sends a
frame larger than ``max_packet_bytes`` is disconnected by ZeroMQ.
"""

from __future__ import annotations

import time
from typing import Any, Unpack

import zmq
from zmq.utils.monitor import recv_monitor_message

from controlroom.device.errors import ArgumentError, TransportError
from controlroom.device.spacewire.crc import BytesLike
from controlroom.device.spacewire.errors import CorruptPacket, LinkDown
from controlroom.device.spacewire.interface import InterfaceOptions, SpaceWireInterface
from controlroom.device.spacewire.link import PacketData
from controlroom.rpc import curve, endpoints
from controlroom.rpc.errors import InsecureServer

ZERO_COPY_BYTES = 65536  # pyzmq's own copy threshold: below it a copy is the cheaper way
_FLAGS = [bytes((flags,)) for flags in range(256)]
_MORE = int(zmq.SNDMORE)
_LINK_EVENTS = zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED


class SpaceWireOverZeroMQ(SpaceWireInterface):
    """A SpaceWire link over one ZeroMQ PAIR socket (``bind``: this side listens).

    ``endpoint`` may be ``tcp://127.0.0.1:0`` on the binding side: the port the
    system chose is in ``endpoint`` after ``connect``. ``configure`` waits until
    the peer is connected (up to ``link_timeout_s``); a send that cannot leave
    within ``send_timeout_s`` (no peer, or the peer's queue is full) raises
    LinkDown. The RMAP settings are those of :class:`SpaceWireInterface`.

    Up to ``queue_packets`` packets wait in each direction (ZeroMQ's high-water
    marks): a sender that gets that far ahead blocks (then LinkDown) instead
    of growing without bound. ``write_packet`` returns once its packet is
    queued; on ``disconnect`` the queued packets have ``linger_s`` to leave,
    and what is still queued after that is lost with the link, as on a cable
    pulled out: a sender that must lose nothing waits for its peer's answer
    before it disconnects.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        bind: bool,
        context: zmq.Context[Any] | None = None,
        link_timeout_s: float = 10.0,
        send_timeout_s: float = 10.0,
        max_packet_bytes: int = 4 * 1024 * 1024,
        queue_packets: int = 1000,
        linger_s: float = 10.0,
        **options: Unpack[InterfaceOptions],
    ) -> None:
        self._named = "name" in options  # else named after the endpoint actually bound
        options.setdefault("name", f"spacewire {endpoint}")
        super().__init__(**options)
        if not endpoint.startswith(("tcp://", "ipc://")):
            raise ArgumentError(f"a SpaceWire link is tcp:// or ipc://, not {endpoint!r}")
        if max_packet_bytes < self.max_read_bytes + 13:  # a read reply's header and CRC
            raise ArgumentError(f"max_packet_bytes {max_packet_bytes} cannot hold a read reply")
        self.endpoint = endpoint
        self.bind = bind
        self.link_timeout_s = link_timeout_s
        self.send_timeout_s = send_timeout_s
        self.max_packet_bytes = max_packet_bytes
        self.queue_packets = queue_packets
        self.linger_s = linger_s
        self._context = context
        self._socket: zmq.Socket[bytes] | None = None
        self._monitor: zmq.Socket[bytes] | None = None
        self._link_up = False

    def connect(self) -> None:
        if self._socket is not None:
            return
        context = self._context or zmq.Context.instance()
        make = curve.server_socket if self.bind else curve.client_socket
        socket = make(context, zmq.PAIR)
        try:
            self._set_options(socket)
            monitor = socket.get_monitor_socket(_LINK_EVENTS)
            self._monitor, self._socket = monitor, socket
            if self.bind:
                self.endpoint = endpoints.bind(socket, self.endpoint)
                if not self._named:
                    self.name = f"spacewire {self.endpoint}"
            else:
                self._connect(socket)
        except BaseException:
            self.disconnect()
            socket.close(linger=0)
            raise

    def _set_options(self, socket: zmq.Socket[bytes]) -> None:
        socket.setsockopt(zmq.LINGER, int(self.linger_s * 1000))
        socket.setsockopt(zmq.SNDTIMEO, int(self.send_timeout_s * 1000))
        socket.setsockopt(zmq.MAXMSGSIZE, self.max_packet_bytes)
        socket.setsockopt(zmq.SNDHWM, self.queue_packets)
        socket.setsockopt(zmq.RCVHWM, self.queue_packets)

    def _connect(self, socket: zmq.Socket[bytes]) -> None:
        if not endpoints.is_loopback(self.endpoint) and not curve.is_secured(socket):
            raise InsecureServer(
                f"refusing a plain SpaceWire link to {self.endpoint}: beyond loopback the link "
                "needs CURVE (secure this process's ZeroMQ context with the lab keys)"
            )
        socket.connect(self.endpoint)

    def disconnect(self) -> None:
        socket, monitor = self._socket, self._monitor
        self._socket = self._monitor = None
        self._link_up = False
        if socket is not None and monitor is not None:
            socket.disable_monitor()
        if monitor is not None:
            monitor.close(linger=0)
        if socket is not None:
            socket.close()

    def configure(self) -> None:
        """Wait until the peer is connected (the ZeroMQ handshake, CURVE included, is done)."""
        monitor = self._open()[1]
        deadline = time.monotonic() + self.link_timeout_s
        self._follow_link()
        while not self._link_up:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0 or not monitor.poll(left_ms):
                raise LinkDown(f"{self.name}: no peer connected within {self.link_timeout_s} s")
            self._follow_link()

    def _follow_link(self) -> None:
        """Read the peer's connects and disconnects that happened so far."""
        monitor = self._open()[1]
        while monitor.poll(0):
            event = recv_monitor_message(monitor)["event"]
            self._link_up = event == zmq.EVENT_HANDSHAKE_SUCCEEDED

    def flush(self) -> None:
        """Discard the packets kept during RMAP waits and those queued on the link."""
        socket = self._open()[0]
        dropped = self._drop_pending()
        # A peer that is still sending would keep this going forever: take what both
        # queues can hold at most, the rest is new traffic.
        while dropped < 2 * self.queue_packets and socket.poll(0):
            socket.recv_multipart()
            dropped += 1
        self.counters.flushed += dropped

    def _open(self) -> tuple[zmq.Socket[bytes], zmq.Socket[bytes]]:
        if self._socket is None or self._monitor is None:
            raise TransportError(f"{self.name} is not connected: call connect() or use `with`")
        return self._socket, self._monitor

    def _send(self, flags: int, data: BytesLike) -> None:
        if len(data) > self.max_packet_bytes:
            raise ArgumentError(f"a packet of {len(data)} bytes exceeds {self.max_packet_bytes}")
        # Only immutable bytes go without a copy: ZeroMQ sends them after this returns.
        copy = not isinstance(data, bytes) or len(data) < ZERO_COPY_BYTES
        socket = self._open()[0]
        try:
            # Part by part, as _receive takes them (send_multipart's loop and flag
            # arithmetic cost a quarter of a send). Only a message's first part can find
            # the queue full: the second always follows it.
            socket.send(_FLAGS[flags], _MORE)
            if copy:
                socket.send(data)
            else:
                socket.send(data, copy=False)
        except zmq.Again:
            raise LinkDown(
                f"{self.name}: a packet could not leave within {self.send_timeout_s} s "
                "(no peer connected, or it stopped reading)"
            ) from None

    def _receive(self, timeout: float | None) -> tuple[int, PacketData] | None:
        socket = self._open()[0]
        # Part by part, not recv_multipart: a full-frame stream is some 10,000 messages a
        # second, and its Python-level loop and flag handling were a fifth of the cost.
        try:  # in a stream a message is mostly waiting already: no poll for it
            flags = socket.recv(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            if timeout is not None and (timeout <= 0 or not socket.poll(int(timeout * 1000))):
                return None
            flags = socket.recv(copy=False)
        sizes, last = [len(flags)], flags
        while last.more:  # a message arrives whole: its parts are all here
            last = socket.recv(copy=False)
            sizes.append(len(last))  # a peer's hundred parts cost ints, not frames
        if len(sizes) != 2 or sizes[0] != 1:
            raise CorruptPacket(
                f"a link message is a 1-byte flags frame and a packet frame, not {sizes[:4]} bytes"
            )
        packet = last
        data = packet.buffer.toreadonly() if len(packet) >= ZERO_COPY_BYTES else packet.bytes
        return flags.bytes[0], data
