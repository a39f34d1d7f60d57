"""One client process of the concurrent benchmark: calls read_value for N seconds.

``_client.py ENDPOINT SECONDS [KEYS]`` calls through a proxy (with CURVE as the
lab key when a keys folder is given); ``_client.py --raw ENDPOINT SECONDS``
sends the same bytes on a bare DEALER socket (the raw pyzmq baseline).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

Caller = tuple[Callable[[], object], Callable[[], None]]  # call once, close


def proxy_caller(endpoint: str, keys: str | None) -> Caller:
    from controlroom.device.proxy import make_proxy
    from controlroom.devices.dummy import DummySensor

    if keys is not None:  # call with CURVE as the lab key
        from pathlib import Path

        import zmq

        from controlroom.rpc import curve
        from controlroom.rpc.keyring import Keyring

        curve.secure(zmq.Context.instance(), Keyring.load(Path(keys), "lab"))
    proxy = make_proxy(DummySensor, endpoint)
    return proxy.read_value, proxy.close


def raw_caller(endpoint: str) -> Caller:
    import zmq

    from controlroom import wire

    socket = zmq.Context.instance().socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    body = wire.encode(wire.call(1, "read_value"))[0]  # what a proxy sends for read_value

    def once() -> object:
        socket.send(body)
        return socket.recv()

    return once, socket.close


def main() -> None:
    args = sys.argv[1:]
    raw = args[0] == "--raw"
    if raw:
        args = args[1:]
    endpoint, seconds = args[0], float(args[1])
    keys = args[2] if len(args) > 2 else None
    call, close = raw_caller(endpoint) if raw else proxy_caller(endpoint, keys)
    for _ in range(200):
        call()
    print("ready", flush=True)
    sys.stdin.readline()
    count, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        call()
        count += 1
    close()
    print(count / seconds)


if __name__ == "__main__":
    main()
