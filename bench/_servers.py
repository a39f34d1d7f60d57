"""Server processes for the benchmarks: `python bench/_servers.py echo|dummy|tempctl`.

Each prints one ready line (``READY {json}``) once it answers, then serves
until SIGTERM.
"""

from __future__ import annotations

import json
import signal
import sys

import zmq


def echo() -> None:
    """Raw pyzmq ROUTER echo: the baseline every figure is compared with."""
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    print("READY " + json.dumps({"commands": f"tcp://127.0.0.1:{port}"}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        router.send_multipart(router.recv_multipart())


def dummy(spin_us: float = 100.0, endpoint: str = "tcp://127.0.0.1:0") -> None:
    from controlroom.device.serving import DeviceService
    from controlroom.devices.dummy import DummySensor
    from controlroom.rpc import ControlServer
    from controlroom.rpc.process import serve_until_signalled

    served = DeviceService(DummySensor())
    server = ControlServer("dummy", served, hk_period_s=1.0, spin_us=spin_us, endpoint=endpoint)
    serve_until_signalled(server)


def dummy_curve() -> None:
    """The dummy server with CURVE on its sockets (keys folder: argv[2]), any address."""
    from pathlib import Path

    from controlroom.rpc import curve
    from controlroom.rpc.keyring import Keyring

    curve.secure(zmq.Context.instance(), Keyring.load(Path(sys.argv[2]), "lab"))
    endpoint = sys.argv[3] if len(sys.argv) > 3 else "tcp://127.0.0.1:0"
    dummy(endpoint=endpoint)


def dummy_no_spin() -> None:
    """The same server with the post-reply poll switched off, for comparison."""
    dummy(spin_us=0.0)


def tempctl() -> None:
    from controlroom.device.serving import DeviceService
    from controlroom.device.transports import TcpTransport
    from controlroom.devices.tempctl import TempCtlController
    from controlroom.rpc import ControlServer
    from controlroom.rpc.process import serve_until_signalled

    host, port = sys.argv[2], int(sys.argv[3])
    controller = TempCtlController(TcpTransport(host, port, **TempCtlController.transport_defaults))
    server = ControlServer("tempctl", DeviceService(controller), hk_period_s=1.0)
    serve_until_signalled(server)


if __name__ == "__main__":
    servers = {
        "echo": echo,
        "dummy": dummy,
        "dummy-curve": dummy_curve,
        "dummy-no-spin": dummy_no_spin,
        "tempctl": tempctl,
    }
    servers[sys.argv[1]]()
