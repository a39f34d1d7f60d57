"""The framing between the storage manager and its backend processes."""

from __future__ import annotations

import socket
import struct
import threading

import numpy as np
import pytest

from controlroom.services.storage.channel import Channel, ChannelClosed


def test_messages_of_any_size_and_arrays_arrive_whole_and_in_order() -> None:
    ours, theirs = socket.socketpair()
    sender, receiver = Channel(ours), Channel(theirs)
    big = bytes(range(256)) * 8192  # 2 MiB: more than the socket holds at once
    array = np.arange(100_000, dtype=np.float64)  # travels as a frame of its own
    messages = [["small", 1], ["big", big], ["array", array], ["empty", b""]]
    writer = threading.Thread(target=lambda: [sender.send(m) for m in messages])
    writer.start()
    received = [receiver.receive() for _ in messages]
    writer.join(10)
    assert received[0] == ["small", 1] and received[1] == ["big", big]
    assert received[2][0] == "array" and np.array_equal(received[2][1], array)
    assert received[3] == ["empty", b""]
    sender.close()
    with pytest.raises(EOFError):
        receiver.receive()  # closed between messages: the end
    receiver.close()


def test_an_end_in_the_middle_of_a_message_is_told_apart() -> None:
    ours, theirs = socket.socketpair()
    ours.sendall(struct.pack("!II", 1, 100) + b"only part of it")
    ours.close()
    receiver = Channel(theirs)
    with pytest.raises(ChannelClosed, match="middle of a message"):
        receiver.receive()
    receiver.close()


def test_a_header_out_of_step_is_refused() -> None:
    ours, theirs = socket.socketpair()
    ours.sendall(struct.pack("!I", 1 << 30))
    receiver = Channel(theirs)
    with pytest.raises(ChannelClosed, match="out of step"):
        receiver.receive()
    ours.close()
    receiver.close()
