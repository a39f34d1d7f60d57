"""Web fan-out benchmark: browser WebSockets following 20 parameters at 10 Hz.

A control server (its own process) publishes 20 HK parameters every 0.1 s;
the web panel (its own process) follows it; ``--clients`` WebSockets on
``hk/bench``, spread over client processes of ``--per-process`` each (see
``_fanout_clients.py``: lean clients, so they are not what is measured), take
every change in a common window and measure the time from the sample's publish
time stamp to its arrival. In alternating rounds the baseline is one raw
ZeroMQ SUB socket on the server's PUB endpoint, i.e. the same samples without
the panel.

Prints one JSON line: ``p50_ms``, ``p95_ms``, ``p99_ms``, ``max_ms`` (median
over rounds of each round's figure over all clients' samples), ``dropped``
(samples some client missed in the server's HK sequence, plus what the panel's
hub counted as dropped while they were connected), ``silent`` (clients that got
nothing), the ``baseline``, and the CPU share of the panel and of the client
processes during the window. Targets: 200 clients p50 <= 5 ms, 1,000 clients
p99 < 100 ms, nothing dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import zmq
import zmq.asyncio

from _common import HERE, child
from controlroom import wire

PARAMETERS = 20
PERIOD_S = 0.1
TOPIC = "hk/bench"
# After the last client connected, before the window opens: the panel's garbage
# collections after a thousand handshakes are not the steady state measured.
SETTLE_S = 2.0


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


def serve_panel(commands: str, publish: str, profile: str = "") -> None:
    """Child role: the web panel following that one server, open on loopback.

    With ``profile`` (a file name), its event loop's thread runs under cProfile,
    whose statistics are written there when the panel stops.
    """
    from controlroom.config.settings import load_settings
    from controlroom.web import create_app
    from controlroom.web.discovery import StaticDiscovery, Target
    from controlroom.web.serve import serve

    settings = load_settings()
    settings["web"] = {**settings["web"], "allow_anonymous": True, "client_queue": 1000}
    discovery = StaticDiscovery({"bench": Target("bench", "device", commands, publish)})
    app = create_app(settings, bind_host="127.0.0.1", discovery=discovery)
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    serve(app, "127.0.0.1", 0, lambda url: print(f"READY {url}", flush=True))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)


@contextmanager
def client_processes(url: str, clients: int, per_process: int) -> Iterator[list[Any]]:
    """Processes holding ``clients`` open WebSockets between them, all connected."""
    sizes = [per_process] * (clients // per_process)
    sizes += [clients % per_process] if clients % per_process else []
    script = str(HERE / "_fanout_clients.py")
    procs = [
        subprocess.Popen(
            [sys.executable, script, url, str(size), TOPIC],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for size in sizes
    ]
    try:
        for proc in procs:
            line = proc.stdout.readline()
            if not line.startswith("READY "):
                raise RuntimeError(f"a client process failed to connect: {line!r}")
        yield procs
    finally:
        for proc in procs:
            proc.stdin.close()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def cpu_s(pid: int) -> float:
    return sum(psutil.Process(pid).cpu_times()[:2])


def ws_round(url: str, panel_pid: int, clients: int, per_process: int, seconds: float) -> dict:
    with client_processes(url, clients, per_process) as procs:
        start = time.time() + SETTLE_S
        for proc in procs:
            proc.stdin.write(f"{start} {start + seconds}\n")
            proc.stdin.flush()
        pids = [panel_pid, *(proc.pid for proc in procs)]
        time.sleep(SETTLE_S)
        before = [cpu_s(pid) for pid in pids]
        time.sleep(seconds)
        used = [cpu_s(pid) - b for pid, b in zip(pids, before, strict=True)]
        results = [json.loads(proc.stdout.readline().removeprefix("RESULT ")) for proc in procs]
        hub = hub_counts(url)
    latencies = [s for r in results for s in r["latencies_ms"]]
    return {
        **figures(latencies),
        "dropped": sum(r["missing"] for r in results) + hub.get("dropped", 0),
        "hub_answered": bool(hub),
        "written_at_once_pct": 100
        * hub.get("written_at_once", 0)
        / max(1, hub.get("delivered", 0)),
        "silent": sum(r["silent"] for r in results),
        "closed": sum(r["closed"] for r in results),
        "panel_cpu_pct": 100 * used[0] / seconds,
        "client_cpu_pct_max": 100 * max(used[1:]) / seconds,
    }


async def sub_round(publish: str, seconds: float) -> list[float]:
    context = zmq.asyncio.Context.instance()
    socket = context.socket(zmq.SUB)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SUBSCRIBE, TOPIC.encode())
    socket.connect(publish)
    latencies: list[float] = []
    deadline = time.time() + seconds
    try:
        while (left := deadline - time.time()) > 0:
            if not await socket.poll(int(left * 1000)):
                break
            frames = await socket.recv_multipart()
            now = time.time()
            latencies.append((now - float(wire.unpack(frames[1:])["time"])) * 1000)
    finally:
        socket.close()
    return latencies


def figures(samples_ms: list[float]) -> dict[str, float]:
    if not samples_ms:
        return dict.fromkeys(("p50_ms", "p95_ms", "p99_ms", "max_ms"), float("nan"))
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": ordered[-1]}


def hub_counts(url: str) -> dict[str, int]:
    """The sockets' counters summed (``dropped``, ...); empty if the panel is too busy to say."""
    try:
        with urllib.request.urlopen(url + "api/hub", timeout=60) as reply:
            hub = json.load(reply)
    except (TimeoutError, OSError):
        return {}
    keys = ("dropped", "delivered", "written_at_once")
    return {key: sum(int(c.get(key, 0)) for c in hub.get("clients", [])) for key in keys}


def median_of(rounds: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in rounds), 2)


def measure(
    clients: int, per_process: int, rounds: int, seconds: float, profile: str
) -> dict[str, Any]:
    with child(__file__, "device") as (_, ready):
        ends = json.loads(ready)
        panel_role = ("panel", ends["commands"], ends["publish"], profile)
        with child(__file__, *panel_role) as (panel, url):
            subject, base = [], []
            for _ in range(rounds):  # baseline, subject, baseline, subject ...
                base.append(figures(asyncio.run(sub_round(ends["publish"], seconds))))
                subject.append(ws_round(url, panel.pid, clients, per_process, seconds))
    keys = ("p50_ms", "p95_ms", "p99_ms", "max_ms")
    return {
        **{key: median_of(subject, key) for key in keys},
        "dropped": sum(r["dropped"] for r in subject),
        "silent": sum(r["silent"] for r in subject),
        "closed": sum(r["closed"] for r in subject),
        "hub_answered": all(r["hub_answered"] for r in subject),
        "written_at_once_pct": median_of(subject, "written_at_once_pct"),
        "clients": clients,
        "client_processes": -(-clients // per_process),
        "panel_cpu_pct": median_of(subject, "panel_cpu_pct"),
        "client_cpu_pct_max": median_of(subject, "client_cpu_pct_max"),
        "parameters": PARAMETERS,
        "rate_hz": round(1 / PERIOD_S),
        "baseline": {
            "what": "raw ZeroMQ SUB on the server's PUB",
            **{key: median_of(base, key) for key in keys},
        },
        "rounds": rounds,
        "seconds_per_round": seconds,
        "load_average": [round(x, 2) for x in psutil.getloadavg()],
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "device":
        serve_device()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "panel":
        serve_panel(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-process", type=int, default=250, help="clients per process")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--profile", default="", help="cProfile the panel's loop into this file")
    args = parser.parse_args()
    result = measure(args.clients, args.per_process, args.rounds, args.seconds, args.profile)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
