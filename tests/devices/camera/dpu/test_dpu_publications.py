"""Publications: each topic back as the loop published it; anything else refused by name."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest
import zmq

from controlroom.device.spacewire import DataPacket, HousekeepingPacket
from controlroom.devices.camera.dpu import Topic
from controlroom.devices.camera.dpu.publications import MalformedPublication, decode, encode
from controlroom.devices.camera.dpu.publishing import (
    MAX_SUBSCRIPTIONS,
    DpuMonitoring,
    DpuPublisher,
    Subscriptions,
)
from controlroom.testing.waiting import wait_until

T = 1_767_268_800.25
HK = HousekeepingPacket(12, 40, bytes(range(256)), mode=5)
DATA = DataPacket(12, 41, 3, "F", bytes(range(64)), "overscan", last=True, mode=5)


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (Topic.SYNC_TIMECODE, (12, T)),
        (Topic.SYNC_HK_PACKET, (HK, T)),
        (Topic.SYNC_DATA_PACKET, (DATA, T)),
        (Topic.NUM_CYCLES, -1),
        (Topic.HDF5_FILENAMES, ["/data/20260101/OBS_1_camera.h5"]),
        (Topic.SYNC_ERROR_FLAGS, (0x11, 12, T)),
    ],
)
def test_every_topic_comes_back_as_published(topic: Topic, payload: object) -> None:
    frames = encode(topic, payload)
    assert frames[0] == topic.value.encode()
    assert decode(frames) == (topic, payload)


def test_a_register_map_comes_back_as_its_array() -> None:
    register_map = np.arange(0x800, dtype=np.uint16).astype(np.uint8)
    topic, array = decode(encode(Topic.N_FEE_REGISTER_MAP, register_map))
    assert topic is Topic.N_FEE_REGISTER_MAP and isinstance(array, np.ndarray)
    assert array.dtype == np.uint8 and np.array_equal(array, register_map)


def _body(value: object) -> list[bytes]:
    return [b"SYNC_TIMECODE", msgpack.packb(value)]


def _data(**change: object) -> list[bytes]:
    """A data packet publication with ``change`` in its packet's fields."""
    body = msgpack.unpackb(encode(Topic.SYNC_DATA_PACKET, (DATA, T))[1])
    body["packet"].update(change)
    return [b"SYNC_DATA_PACKET", msgpack.packb(body)]


def _array(dtype: str, shape: list[int], data: bytes) -> list[bytes]:
    spec = {"dtype": dtype, "shape": shape, "bytes": data}
    return [b"N_FEE_REGISTER_MAP", msgpack.packb({"register_map": spec})]


@pytest.mark.parametrize(
    ("frames", "problem"),
    [
        ([b"SYNC_TIMECODE"], "a publication is 2 frames"),
        ([b"NO_SUCH_TOPIC", msgpack.packb({})], "unknown topic b'NO_SUCH_TOPIC'"),
        ([b"SYNC_TIMECODE", b"\xc1"], "a SYNC_TIMECODE body is not msgpack"),
        (_body([12, T]), "a SYNC_TIMECODE body is a msgpack map, not list"),
        (_body({"timecode": 12}), "SYNC_TIMECODE: the body has no 'received_s'"),
        (_body({"timecode": 64, "received_s": T}), "'timecode' is an integer in 0..63, not 64"),
        (_body({"timecode": True, "received_s": T}), "'timecode' is an integer"),
        (_body({"timecode": 1, "received_s": float("nan")}), "'received_s' is a time"),
        (_body({"timecode": 1, "received_s": msgpack.ExtType(1, b"")}), "extension type 1"),
        (_data(side="X"), "side X"),
        (_data(payload="text"), "'payload' is bytes, not str"),
        (_data(last=1), "'last' is true or false"),
        (_data(ccd=9), "CCD 1..4"),
        (_array("|O8", [1], b"x"), "'dtype' '|O8' is not a plain number type"),
        (_array("|u1", [3], b"x"), "1 bytes do not make a |u1 array of [3]"),
        (_array("|u1", [-1], b""), "'shape' [-1] is not a list of sizes"),
        ([b"HDF5_FILENAMES", msgpack.packb({"files": [1]})], "'files' holds paths as text"),
    ],
)
def test_a_malformed_publication_is_refused_naming_the_problem(
    frames: list[bytes], problem: str
) -> None:
    with pytest.raises(MalformedPublication) as refused:
        decode(frames)
    assert problem in str(refused.value)


def test_monitoring_follows_a_publisher_and_refuses_what_it_cannot_read() -> None:
    publisher = DpuPublisher("tcp://127.0.0.1:0")
    stranger = zmq.Context.instance().socket(zmq.PUB)
    try:
        stranger.setsockopt(zmq.LINGER, 0)
        with DpuMonitoring(publisher.endpoint, [Topic.SYNC_TIMECODE]) as monitoring:
            tick = None
            for timecode in range(200):  # a subscription takes a moment to reach the publisher
                publisher(Topic.SYNC_TIMECODE, (timecode % 64, T + timecode))
                publisher(Topic.NUM_CYCLES, 3)  # not followed: never seen
                if (tick := monitoring.wait_for_timecode(0.02)) is not None:
                    break
            assert tick is not None and tick[1] == T + tick[0]
            with pytest.raises(ValueError, match="does not follow NUM_CYCLES"):
                monitoring.next([Topic.NUM_CYCLES], 0.01)
        port = stranger.bind_to_random_port("tcp://127.0.0.1")
        with DpuMonitoring(f"tcp://127.0.0.1:{port}") as monitoring:
            refused = None
            for _ in range(200):  # again: until the subscription arrived
                stranger.send_multipart([b"SYNC_TIMECODE", b"\xc1"])
                try:
                    monitoring.next(timeout_s=0.02)
                except MalformedPublication as error:
                    refused = error
                    break
            assert refused is not None and "not msgpack" in str(refused)
    finally:
        stranger.close(linger=0)
        publisher.close()


def test_a_topic_nobody_follows_is_not_even_encoded() -> None:
    publisher = DpuPublisher("tcp://127.0.0.1:0")
    try:
        publisher(Topic.SYNC_DATA_PACKET, (DATA, T))
        assert (publisher.published, publisher.unheard) == (0, 1)
        with DpuMonitoring(publisher.endpoint, [Topic.SYNC_TIMECODE]):
            assert wait_until(lambda: publisher.wants(Topic.SYNC_TIMECODE), 10.0)
            assert not publisher.wants(Topic.SYNC_DATA_PACKET)
            publisher(Topic.SYNC_TIMECODE, (1, T))
            publisher(Topic.SYNC_DATA_PACKET, (DATA, T))
            assert (publisher.published, publisher.unheard) == (1, 2)
        # the subscriber left: its topics are nobody's again
        assert wait_until(lambda: not publisher.wants(Topic.SYNC_TIMECODE), 10.0)
    finally:
        publisher.close()


def test_a_subscription_to_everything_follows_every_topic() -> None:
    publisher = DpuPublisher("tcp://127.0.0.1:0")
    everything = zmq.Context.instance().socket(zmq.SUB)
    try:
        everything.setsockopt(zmq.LINGER, 0)
        everything.setsockopt(zmq.SUBSCRIBE, b"")
        everything.connect(publisher.endpoint)
        assert wait_until(lambda: publisher.wants(Topic.SYNC_DATA_PACKET), 10.0)
        assert all(publisher.wants(topic) for topic in Topic)
    finally:
        everything.close(linger=0)
        publisher.close()


def test_subscriptions_follow_prefixes_and_fail_open_beyond_their_bound() -> None:
    subscriptions = Subscriptions()
    subscriptions.note(b"\x01SYNC_")
    subscriptions.note(b"\x02SYNC_DATA")  # not a subscription message: ignored
    subscriptions.note(b"")
    assert subscriptions.follow(Topic.SYNC_DATA_PACKET) and subscriptions.follow(
        Topic.SYNC_HK_PACKET
    )
    assert not subscriptions.follow(Topic.NUM_CYCLES)
    subscriptions.note(b"\x00SYNC_")
    assert not subscriptions.follow(Topic.SYNC_TIMECODE)
    for number in range(MAX_SUBSCRIPTIONS + 1):
        subscriptions.note(b"\x01X%d" % number)
    assert len(subscriptions.prefixes) == MAX_SUBSCRIPTIONS  # bounded
    assert subscriptions.follow(Topic.NUM_CYCLES)  # past the bound: everything is published
