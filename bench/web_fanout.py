"""Web fan-out benchmark: 50 browser WebSockets following 20 parameters at 10 Hz.

A control server (its own process) publishes 20 HK parameters every 0.1 s;
the web panel (its own process) follows it; this process opens ``--clients``
WebSockets on ``hk/bench`` and measures, for every change each client
receives, the time from the server's sample time (stamped when it published)
to receipt. In alternating rounds the baseline is one raw ZeroMQ SUB socket
on the server's PUB endpoint, i.e. the same samples without the panel.

Prints ``{"p50_ms", "p99_ms", "dropped", "clients", "baseline": {...}, ...}``:
``dropped`` counts samples some client never received (by the HK sequence of
the server: every client must see every sample) plus what the panel's hub
reports as dropped. Target: p99 < 100 ms, no drops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

import websockets
import zmq
import zmq.asyncio

from _common import child
from controlroom import wire

PARAMETERS = 20
PERIOD_S = 0.1


def serve_device() -> None:
    """Child role: a control server whose device has 20 HK parameters."""
    from controlroom.device.serving import DeviceService
    from controlroom.devices.dummy import DummySensor
    from controlroom.rpc import ControlServer
    from controlroom.rpc.process import serve_until_signalled

    class Bench(DummySensor):
        count = 0

        def housekeeping(self) -> dict[str, Any]:
            Bench.count += 1
            base = self.read_value()
            values = {f"BENCH_P{i:02d}": base + i for i in range(PARAMETERS)}
            return {**values, "BENCH_SEQ": Bench.count}

    server = ControlServer(
        "bench",
        DeviceService(Bench()),
        endpoint="tcp://127.0.0.1:0",
        pub_endpoint="tcp://127.0.0.1:0",
        hk_period_s=PERIOD_S,
        status_period_s=10.0,
    )
    serve_until_signalled(server)


def serve_panel(commands: str, publish: str) -> None:
    """Child role: the web panel following that one server, open on loopback."""
    from controlroom.config.settings import load_settings
    from controlroom.web import create_app
    from controlroom.web.discovery import StaticDiscovery, Target
    from controlroom.web.serve import serve

    settings = load_settings()
    settings["web"] = {**settings["web"], "allow_anonymous": True, "client_queue": 1000}
    discovery = StaticDiscovery({"bench": Target("bench", "device", commands, publish)})
    app = create_app(settings, bind_host="127.0.0.1", discovery=discovery)
    serve(app, "127.0.0.1", 0, lambda url: print(f"READY {url}", flush=True))


async def follow_ws(url: str, seconds: float, latencies: list[float], seen: set[int]) -> None:
    ws_url = url.replace("http://", "ws://") + "ws?topics=hk/bench"
    origin = url.rstrip("/")
    async with websockets.connect(ws_url, origin=origin, max_size=None) as ws:  # type: ignore[arg-type]
        deadline = time.time() + seconds
        while (left := deadline - time.time()) > 0:
            try:
                raw = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            now = time.time()
            message = json.loads(raw)
            if message.get("type") == "change" and message.get("topic") == "hk/bench":
                latencies.append(now - float(message["time"]))
                seen.add(int(message["values"]["BENCH_SEQ"]))


async def ws_round(url: str, clients: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    seen: list[set[int]] = [set() for _ in range(clients)]
    await asyncio.gather(*(follow_ws(url, seconds, latencies, s) for s in seen))
    # Between its first and its last sample a client must have had every one: a gap
    # in the server's HK sequence is a drop (before its first: it was connecting).
    missing = sum(max(s) - min(s) + 1 - len(s) for s in seen if s)
    return latencies, missing


async def sub_round(publish: str, seconds: float) -> list[float]:
    context = zmq.asyncio.Context.instance()
    socket = context.socket(zmq.SUB)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SUBSCRIBE, b"hk/bench")
    socket.connect(publish)
    latencies: list[float] = []
    deadline = time.time() + seconds
    try:
        while (left := deadline - time.time()) > 0:
            if not await socket.poll(int(left * 1000)):
                break
            frames = await socket.recv_multipart()
            now = time.time()
            latencies.append(now - float(wire.unpack(frames[1:])["time"]))
    finally:
        socket.close()
    return latencies


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def hub_dropped(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(url + "api/hub", timeout=10) as reply:
        hub = json.load(reply)
    return int(sum(c.get("dropped", 0) for c in hub.get("clients", [])))


def measure(clients: int, rounds: int, seconds: float) -> dict[str, Any]:
    with child(__file__, "device") as (_, ready):
        ends = json.loads(ready)
        with child(__file__, "panel", ends["commands"], ends["publish"]) as (_, url):
            ws_p50, ws_p99, base_p50, base_p99, missing = [], [], [], [], 0
            for _ in range(rounds):  # baseline, subject, baseline, subject ...
                base = asyncio.run(sub_round(ends["publish"], seconds))
                base_p50.append(percentile(base, 0.5))
                base_p99.append(percentile(base, 0.99))
                subject, lost = asyncio.run(ws_round(url, clients, seconds))
                ws_p50.append(percentile(subject, 0.5))
                ws_p99.append(percentile(subject, 0.99))
                missing += lost
            dropped = missing + hub_dropped(url)
    return {
        "p50_ms": round(statistics.median(ws_p50), 2),
        "p99_ms": round(statistics.median(ws_p99), 2),
        "dropped": dropped,
        "clients": clients,
        "parameters": PARAMETERS,
        "rate_hz": round(1 / PERIOD_S),
        "baseline": {
            "what": "raw ZeroMQ SUB on the server's PUB",
            "p50_ms": round(statistics.median(base_p50), 2),
            "p99_ms": round(statistics.median(base_p99), 2),
        },
        "rounds": rounds,
        "seconds_per_round": seconds,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "device":
        serve_device()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "panel":
        serve_panel(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.clients, args.rounds, args.seconds)))


if __name__ == "__main__":
    main()
