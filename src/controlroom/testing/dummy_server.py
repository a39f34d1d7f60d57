"""``python -m controlroom.testing.dummy_server``: a dummy-sensor control server for tests."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc.process import serve_until_signalled
from controlroom.rpc.server import ControlServer


@contextmanager
def running_dummy(period_s: float = 0.2, name: str = "dummy") -> Iterator[ControlServer]:
    """A dummy-sensor control server in this process on free ports, publishing HK and
    status every ``period_s``; stopped when the block ends."""
    server = ControlServer(
        name,
        DeviceService(DummySensor()),
        endpoint="tcp://127.0.0.1:0",
        pub_endpoint="tcp://127.0.0.1:0",
        hk_period_s=period_s,
        status_period_s=period_s,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="dummy")
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:0")
    parser.add_argument("--pub-endpoint", default="tcp://127.0.0.1:0")
    parser.add_argument("--hk-period", type=float, default=0.2)
    parser.add_argument("--max-message-bytes", type=int, default=64 * 2**20)
    args = parser.parse_args(argv)
    server = ControlServer(
        args.name,
        DeviceService(DummySensor()),
        endpoint=args.endpoint,
        pub_endpoint=args.pub_endpoint,
        hk_period_s=args.hk_period,
        status_period_s=args.hk_period,
        max_message_bytes=args.max_message_bytes,
    )
    serve_until_signalled(server)


if __name__ == "__main__":
    main()
