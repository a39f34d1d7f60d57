"""Server processes for the benchmarks: `python bench/_servers.py KIND [ARGS]`.

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


def echo_rep() -> None:
    """Raw pyzmq REP echo, for REQ clients: the p50 baseline of a plain request/reply."""
    context = zmq.Context()
    rep = context.socket(zmq.REP)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    print("READY " + json.dumps({"commands": f"tcp://127.0.0.1:{port}"}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        rep.send(rep.recv())


def reply_echo() -> None:
    """A ROUTER answering every call with a fixed reply envelope: what a proxy costs alone."""
    from controlroom import wire
    from controlroom.wire.handshake import accept

    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    print("READY " + json.dumps({"commands": f"tcp://127.0.0.1:{port}"}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        route, body = router.recv_multipart()
        env = wire.decode([body])
        answer = accept(env, "echo", []) if env.kind == "hello" else wire.reply(env.id, 20.0)
        router.send_multipart([route, *wire.encode(answer)])


def dummy(spin_us: float = 100.0, endpoint: str = "tcp://127.0.0.1:0") -> None:
    from controlroom.device.serving import DeviceService
    from controlroom.devices.dummy import DummySensor
    from controlroom.rpc import ControlServer
    from controlroom.rpc.process import serve_until_signalled

    served = DeviceService(DummySensor())
    server = ControlServer("dummy", served, hk_period_s=1.0, spin_us=spin_us, endpoint=endpoint)
    serve_until_signalled(server)


def store_sink() -> None:
    """A stand-in storage manager that acknowledges every batch (for ``dummy-observed``)."""
    from controlroom.rpc import ControlServer
    from controlroom.rpc.process import serve_until_signalled
    from controlroom.rpc.served import FunctionTable

    def store(origin: str, *rows: object) -> int:
        return len(rows)

    table = FunctionTable({"store": store, "store_packed": store})
    serve_until_signalled(ControlServer("storage", table, hk_period_s=60.0))


def dummy_observed() -> None:
    """The dummy server as a lab runs it: command journal (to argv[2]) and metrics attached."""
    from controlroom.device.serving import DeviceService
    from controlroom.devices.dummy import DummySensor
    from controlroom.rpc import ControlServer
    from controlroom.rpc.process import serve_until_signalled
    from controlroom.services.metrics import attach_metrics
    from controlroom.services.storage.attach import attach_storage

    server = ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=1.0)
    link = attach_storage(server, {}, endpoint=sys.argv[2])
    exporter = attach_metrics(server)
    try:
        serve_until_signalled(server)
    finally:
        exporter.stop()
        link.stop(1.0)


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
        "echo-rep": echo_rep,
        "reply-echo": reply_echo,
        "store-sink": store_sink,
        "dummy-observed": dummy_observed,
        "dummy": dummy,
        "dummy-curve": dummy_curve,
        "dummy-no-spin": dummy_no_spin,
        "tempctl": tempctl,
    }
    servers[sys.argv[1]]()
