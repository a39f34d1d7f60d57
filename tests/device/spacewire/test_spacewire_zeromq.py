"""SpaceWireOverZeroMQ: packets and timecodes over tcp and ipc, garbage, security."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import zmq
from spacewire_links import link_pair

from controlroom.device.errors import ArgumentError, TransportError
from controlroom.device.spacewire import (
    PACKET,
    TIMECODE,
    DataPacket,
    HousekeepingPacket,
    LinkDown,
    NoPacket,
    RmapReadRequest,
    SpaceWireOverZeroMQ,
    classify,
)
from controlroom.rpc.errors import InsecureServer
from controlroom.rpc.keyring import Keyring
from controlroom.testing.waiting import wait_until


def data_packet(sequence: int, pixels: int = 4) -> bytes:
    values = np.arange(pixels, dtype=np.uint16) + sequence
    return DataPacket.from_pixels(
        values, frame_counter=1, sequence_counter=sequence, ccd=2, side="F"
    ).encode()


HK = HousekeepingPacket(frame_counter=1, sequence_counter=0, data=bytes(range(64))).encode()


@pytest.mark.parametrize("scheme", ["tcp", "ipc"])
def test_timecodes_and_packets_cross_in_order(scheme: str) -> None:
    with link_pair(scheme) as (dpu, fee):
        fee.send_timecode(63)
        fee.write_packet(HK)
        for sequence in range(1, 4):
            fee.write_packet(data_packet(sequence))
        assert dpu.read_packet(timeout=5) == (TIMECODE, b"\x3f")
        assert dpu.read_packet(timeout=5) == (PACKET, HK)
        for sequence in range(1, 4):
            assert dpu.read_packet(timeout=5) == (PACKET, data_packet(sequence))
        sent = 64 + 10 + 3 * (10 + 8)
        assert (fee.counters.timecodes_out, fee.counters.packets_out) == (1, 4)
        assert (dpu.counters.timecodes_in, dpu.counters.packets_in) == (1, 4)
        assert dpu.counters.bytes_in == fee.counters.bytes_out == sent
        assert dpu.counters.corrupt == 0


def test_large_packets_arrive_as_views_small_ones_as_bytes() -> None:
    with link_pair() as (dpu, fee):
        large = data_packet(1, pixels=32767)  # 65544 bytes: a frame view, not a copy
        fee.write_packet(large)
        fee.write_packet(data_packet(2))
        flags, received = dpu.read_packet(timeout=5)
        assert flags == PACKET
        assert isinstance(received, memoryview)
        assert received.readonly
        assert received == large
        packet = classify(received)
        assert isinstance(packet, DataPacket)
        assert packet.pixels[-1] == 32767
        assert isinstance(dpu.read_packet(timeout=5)[1], bytes)


def test_read_packet_times_out_with_no_packet() -> None:
    with link_pair() as (dpu, _fee), pytest.raises(NoPacket):
        dpu.read_packet(timeout=0.05)


def test_timecodes_outside_0_to_63_are_refused() -> None:
    with link_pair() as (dpu, _fee), pytest.raises(ArgumentError, match=r"0\.\.63"):
        dpu.send_timecode(64)


@contextmanager
def raw_peer(endpoint: str) -> Iterator[zmq.Socket[bytes]]:
    """A plain PAIR socket on the other end: it can send anything at all."""
    socket: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PAIR)
    socket.connect(endpoint)
    try:
        yield socket
    finally:
        socket.close(linger=0)


GARBAGE: list[list[bytes]] = [
    [b"\x01", b"\x50\xf0\x00\x09" + bytes(6)],  # FEE length field says 9, has 0
    [b"\x01", b"\x51\x01\x4c\x00" + bytes(12)],  # RMAP read command with a bad header CRC
    [b"\x01", b"\x50\x77garbage"],  # unknown protocol id
    [b"\x02", b"\x40"],  # timecode 64
    [b"\x09", HK],  # unknown flags
    [b"\x01\x01", HK],  # a flags frame of two bytes
    [b"\x01"],  # no packet frame
    [b"\x01", HK, HK],  # three frames
]


def test_corrupt_packets_between_good_ones_are_counted_logged_once_per_burst(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="controlroom.device.spacewire")
    with SpaceWireOverZeroMQ("tcp://127.0.0.1:0", bind=True, link_timeout_s=10) as dpu:
        with raw_peer(dpu.endpoint) as peer:
            dpu.configure()
            for frames in [[b"\x01", HK], *GARBAGE, [b"\x02", b"\x05"], GARBAGE[0], [b"\x01", HK]]:
                peer.send_multipart(frames)
            assert dpu.read_packet(timeout=5) == (PACKET, HK)
            assert dpu.read_packet(timeout=5) == (TIMECODE, b"\x05")
            assert dpu.read_packet(timeout=5) == (PACKET, HK)
    assert dpu.counters.corrupt == len(GARBAGE) + 1
    assert (dpu.counters.packets_in, dpu.counters.timecodes_in) == (2, 1)
    started = [r.getMessage() for r in caplog.records if "corrupt packet dropped" in r.message]
    ended = [r.getMessage() for r in caplog.records if "in a row" in r.message]
    assert len(started) == 2
    assert "length field says 9" in started[0]
    assert ended == [
        f"{dpu.name}: {len(GARBAGE)} corrupt packets in a row before this good one",
        f"{dpu.name}: 1 corrupt packets in a row before this good one",
    ]


def test_flush_discards_what_waits_on_the_link() -> None:
    with link_pair() as (dpu, fee):
        for sequence in range(5):
            fee.write_packet(data_packet(sequence))
        fee.send_timecode(1)

        def all_flushed() -> bool:  # they arrive in their own time: flush until all six went
            dpu.flush()
            return dpu.counters.flushed >= 6

        assert wait_until(all_flushed)
        assert dpu.counters.flushed == 6
        assert dpu.counters.packets_in == 0
        with pytest.raises(NoPacket):
            dpu.read_packet(timeout=0)


def test_configure_raises_when_no_peer_comes() -> None:
    with SpaceWireOverZeroMQ("tcp://127.0.0.1:0", bind=True, link_timeout_s=0.1) as lonely:
        with pytest.raises(LinkDown, match="no peer"):
            lonely.configure()


def test_a_packet_that_cannot_leave_raises_link_down() -> None:
    with SpaceWireOverZeroMQ("tcp://127.0.0.1:0", bind=True, send_timeout_s=0.05) as lonely:
        with pytest.raises(LinkDown, match="could not leave"):
            lonely.write_packet(HK)


def test_using_a_closed_link_says_so() -> None:
    link = SpaceWireOverZeroMQ("tcp://127.0.0.1:0", bind=True)
    with pytest.raises(TransportError, match="not connected"):
        link.read_packet(timeout=0)
    with pytest.raises(TransportError, match="not connected"):
        link.write_packet(HK)


def test_oversized_packets_and_odd_endpoints_are_refused() -> None:
    with pytest.raises(ArgumentError, match="tcp:// or ipc://"):
        SpaceWireOverZeroMQ("inproc://link", bind=True)
    with pytest.raises(ArgumentError, match="cannot hold a read reply"):
        SpaceWireOverZeroMQ("tcp://127.0.0.1:0", bind=True, max_packet_bytes=1000)
    small = {"max_packet_bytes": 4096, "max_read_bytes": 1024}
    with link_pair(**small) as (dpu, _fee), pytest.raises(ArgumentError, match="exceeds 4096"):
        dpu.write_packet(data_packet(0, pixels=2100))


@pytest.mark.parametrize(
    ("endpoint", "bind"), [("tcp://0.0.0.0:0", True), ("tcp://192.0.2.1:5555", False)]
)
def test_a_plain_link_beyond_loopback_is_refused(endpoint: str, bind: bool) -> None:
    link = SpaceWireOverZeroMQ(endpoint, bind=bind)
    with pytest.raises(InsecureServer, match="CURVE"):
        link.connect()
    link.disconnect()


def test_a_curve_link_may_leave_loopback(
    secured_instance: Keyring, client_context: Callable[[str | None], zmq.Context[Any]]
) -> None:
    with SpaceWireOverZeroMQ("tcp://0.0.0.0:0", bind=True, link_timeout_s=10) as fee:
        port = fee.endpoint.rpartition(":")[2]
        beyond = f"tcp://0.0.0.0:{port}"  # not a loopback address: needs CURVE
        context = client_context("operator")
        with SpaceWireOverZeroMQ(beyond, bind=False, context=context, link_timeout_s=10) as dpu:
            dpu.configure()
            fee.configure()
            request = RmapReadRequest(0x51, 0x50, 7, 0x100, 4, key=0xD1).encode()
            dpu.write_packet(request)
            assert fee.read_packet(timeout=5) == (PACKET, request)


def test_a_plain_peer_cannot_join_a_curve_link(
    secured_instance: Keyring, client_context: Callable[[str | None], zmq.Context[Any]]
) -> None:
    with SpaceWireOverZeroMQ("tcp://127.0.0.1:0", bind=True, link_timeout_s=0.3) as fee:
        plain = client_context(None)
        with SpaceWireOverZeroMQ(fee.endpoint, bind=False, context=plain, link_timeout_s=0.3):
            with pytest.raises(LinkDown):
                fee.configure()
