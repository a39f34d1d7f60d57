"""One client process of the concurrent benchmark: calls read_value for N seconds."""

from __future__ import annotations

import sys
import time

from controlroom.device.proxy import make_proxy
from controlroom.devices.dummy import DummySensor


def main() -> None:
    endpoint, seconds = sys.argv[1], float(sys.argv[2])
    if len(sys.argv) > 3:  # a keys folder: call with CURVE as the lab key
        from pathlib import Path

        import zmq

        from controlroom.rpc import curve
        from controlroom.rpc.keyring import Keyring

        curve.secure(zmq.Context.instance(), Keyring.load(Path(sys.argv[3]), "lab"))
    proxy = make_proxy(DummySensor, endpoint)
    for _ in range(200):
        proxy.read_value()
    print("ready", flush=True)
    sys.stdin.readline()
    count, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        proxy.read_value()
        count += 1
    proxy.close()
    print(count / seconds)


if __name__ == "__main__":
    main()
