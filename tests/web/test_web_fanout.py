"""Fanning one publication out to many pages: one wake-up, one encoding, written at once."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Sequence

import pytest
from websockets.protocol import State
from websockets.server import ServerProtocol

from controlroom.web.clients import BEHIND_BYTES, ClientQueue, FrameWriter, LoopInbox
from controlroom.web.hub import Hub, Message


def hk(server: str, value: float) -> Message:
    return Message(f"hk/{server}", server, 1.0, {"T": value})


class Collect:
    def __init__(self) -> None:
        self.got: list[Sequence[Message]] = []

    def offer(self, messages: Sequence[Message]) -> None:
        self.got.append(messages)


def test_a_publication_wakes_the_loop_once_however_many_queues_it_goes_to() -> None:
    async def scenario() -> tuple[list[ClientQueue], int]:
        loop = asyncio.get_running_loop()
        wakes = 0
        original: Callable[..., asyncio.Handle] = loop.call_soon_threadsafe

        def counting(callback: Callable[..., object], *args: object) -> asyncio.Handle:
            nonlocal wakes
            wakes += 1
            return original(callback, *args)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        inbox = LoopInbox(loop)
        queues = [ClientQueue(loop, 10, f"user{i}", inbox=inbox) for i in range(50)]
        hub = Hub()
        for queue in queues:
            hub.attach(queue, ["hk/"])
        producer = threading.Thread(target=hub.publish, args=([hk("a", 1.0), hk("b", 2.0)],))
        producer.start()
        producer.join()
        taken = await asyncio.gather(*(queue.take() for queue in queues))
        assert all([m.values["T"] for m in changes] == [1.0, 2.0] for _, _, changes in taken)
        return queues, wakes

    queues, wakes = asyncio.run(scenario())
    assert wakes == 1
    assert all(queue.lag == 0 and queue.dropped == 0 for queue in queues)


def test_a_queue_of_another_loop_does_not_use_that_loops_inbox() -> None:
    other = asyncio.new_event_loop()
    try:

        async def scenario() -> list[Message]:
            queue = ClientQueue(asyncio.get_running_loop(), 10, "vera", inbox=LoopInbox(other))
            queue.offer([hk("a", 1.0)])
            _, _, changes = await queue.take()
            return changes

        assert [m.values["T"] for m in asyncio.run(scenario())] == [1.0]
    finally:
        other.close()


def test_sinks_with_the_same_prefixes_share_one_choice_and_others_get_their_own() -> None:
    hub = Hub()
    first, second, other = Collect(), Collect(), Collect()
    hub.attach(first, ["hk/a"])
    hub.attach(second, ["hk/a"])
    hub.attach(other, ["hk/b", "event/"])
    hub.publish([hk("a", 1.0), hk("b", 2.0)])
    assert [m.topic for m in first.got[0]] == ["hk/a"]
    assert first.got[0] is second.got[0]
    assert [m.topic for m in other.got[0]] == ["hk/b"]


def test_a_change_is_encoded_once_as_the_pages_expect_it() -> None:
    hub = Hub()
    message = Message("hk/a", "a", 2.5, {"T": float("nan"), "n": 3})
    hub.publish([message])
    text = message.change_text()
    assert message.change_text() is text
    assert json.loads(text) == {
        "type": "change",
        "topic": "hk/a",
        "server": "a",
        "time": 2.5,
        "values": {"T": None, "n": 3},
        "seq": 1,
    }


def test_a_message_published_again_is_encoded_with_its_new_seq() -> None:
    hub = Hub()
    message = hk("a", 1.0)
    hub.publish([message])
    assert json.loads(message.change_text())["seq"] == 1
    hub.publish([message])
    assert json.loads(message.change_text())["seq"] == 2


class FakeWriter:
    """Stands for a socket's FrameWriter: takes frames while ``accepts``."""

    def __init__(self, *, accepts: bool = True) -> None:
        self.accepts = accepts
        self.written: list[bytes] = []

    def write(self, frames: bytes) -> bool:
        if self.accepts:
            self.written.append(frames)
        return self.accepts


def published(*messages: Message) -> tuple[Message, ...]:
    Hub().publish(messages)  # gives them their seq
    return messages


def texts_of(frames: bytes) -> list[dict[str, object]]:
    """The JSON of back-to-back short unmasked text frames."""
    found = []
    while frames:
        assert frames[0] == 0x81 and frames[1] < 126  # FIN, text; short, not masked
        found.append(json.loads(frames[2 : 2 + frames[1]]))
        frames = frames[2 + frames[1] :]
    return found


async def parked(queue: ClientQueue) -> asyncio.Task[tuple[list, bool, list[Message]]]:
    """The queue's sender, waiting in take()."""
    sender = asyncio.create_task(queue.take())
    await asyncio.sleep(0)  # let it reach its wait
    return sender


def test_a_socket_that_keeps_up_is_written_to_at_once_without_waking_its_sender() -> None:
    async def scenario() -> tuple[ClientQueue, FakeWriter, bool]:
        loop = asyncio.get_running_loop()
        writer = FakeWriter()
        queue = ClientQueue(loop, 10, "vera", writer=writer)  # type: ignore[arg-type]
        sender = await parked(queue)
        queue.put(published(hk("a", 1.0), hk("a", 2.0)), {}, loop.time())
        await asyncio.sleep(0)
        woken = sender.done()
        sender.cancel()
        return queue, writer, woken

    queue, writer, woken = asyncio.run(scenario())
    assert not woken
    assert [c["values"] for c in texts_of(writer.written[0])] == [{"T": 1.0}, {"T": 2.0}]
    assert texts_of(writer.written[0])[0]["type"] == "change"
    assert queue.delivered == queue.written_at_once == 2 and queue.lag == 0


@pytest.mark.parametrize("why", ["behind", "older than the snapshot", "session ended", "busy"])
def test_otherwise_the_changes_wait_for_the_sender(why: str) -> None:
    async def scenario() -> tuple[list[Message], FakeWriter]:
        loop = asyncio.get_running_loop()
        writer = FakeWriter(accepts=why != "behind")
        queue = ClientQueue(
            loop,
            10,
            "vera",
            writer=writer,  # type: ignore[arg-type]
            session_live=lambda: why != "session ended",
        )
        messages = published(hk("a", 1.0))
        if why == "older than the snapshot":
            queue.seen = messages[0].seq
        if why == "busy":  # the sender is writing something else: nothing parked
            queue.put(messages, {}, loop.time())
            _, _, changes = await queue.take()
        else:
            sender = await parked(queue)
            queue.put(messages, {}, loop.time())
            _, _, changes = await sender
        return changes, writer

    changes, writer = asyncio.run(scenario())
    assert [m.values["T"] for m in changes] == [1.0]
    assert writer.written == []


class Transport(asyncio.WriteTransport):
    def __init__(self, buffered: int = 0) -> None:
        super().__init__()
        self.data = bytearray()
        self.buffered = buffered

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return False


class Connection:
    """What uvicorn's WebSocket protocol object has that a FrameWriter uses."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.conn = ServerProtocol()
        self.conn.state = State.OPEN


def test_a_frame_writer_writes_while_the_socket_is_open_and_not_behind() -> None:
    connection = Connection(Transport())
    writer = FrameWriter.of(connection)
    assert writer is not None
    assert writer.write(b"one") and connection.transport.data == b"one"
    connection.transport.buffered = BEHIND_BYTES + 1
    assert not writer.write(b"two")
    connection.transport.buffered = 0
    connection.conn.state = State.CLOSING  # a close frame came or went
    assert not writer.write(b"three")
    assert connection.transport.data == b"one"


def test_a_connection_of_another_kind_gets_no_frame_writer() -> None:
    assert FrameWriter.of(None) is None
    assert FrameWriter.of(object()) is None
