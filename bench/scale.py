"""Scale benchmark: a lab of 100 simulated devices on one host, for ten minutes.

Writes Settings and a Setup for ``--devices`` simulated devices (tempctl, dummy and
psu in turn, HK at 1 Hz, every endpoint on an OS-chosen port) plus the core
services and the web panel, in a scratch directory, and starts it as a user
would: ``controlroom up -d --setup FILE``. Then, for ``--minutes``:

* the first minute is idle (housekeeping, status, the panel's pings): the CPU %
  of each device server over it;
* the other minutes, 20 command round trips a second through proxies to random
  devices (a cheap read each), each followed by a raw pyzmq REQ/REP round trip
  with an echo server (the baseline, measured alternately under the same load),
  and a load of the panel's overview every few seconds;
* every minute, the PSS of every process of the lab.

At the end it reads back from the storage manager the HK rows of the devices
stored during the run, runs ``controlroom down`` and prints one JSON line:
``{"devices", "minutes", "up_ready_s", "pss_mb_total" (the largest minute's),
"pss_mb_minute2", "pss_mb_last", "idle_cpu_pct_per_device", "rows_expected",
"rows_stored", "command_p99_ms", "panel_p95_ms", "down_s",
"baseline_raw_reqrep_p99_ms", ...}``; the keys after those give the details:
p50s, errors, p99 by kind of device, PSS each minute and by kind of process,
``rows_missing`` (slots of a device's 1 s polling grid without a row, between its
first and last row of the run) and ``rows_lost_by_senders`` (rows the servers'
storage senders dropped or had refused).

Every process it started is stopped even on Ctrl-C or an error: ``controlroom
down``, then, by PID, any process of the lab still running (those seen during the
run, and any whose environment names this lab's Settings).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _scale_watch as watch
from _common import HERE, child, endpoint_of
from _scale_lab import HK_PERIOD_S, Lab, census, controlroom, lab_processes, stop_lab, write_lab

MINUTE_S = 60.0
CALLS_PER_S = 20.0
PANEL_EVERY_S = 5.0
UP_TIMEOUT_S = 900.0


class Run:
    """One measurement of a running lab; ``figures`` fills as it goes."""

    def __init__(self, lab: Lab, minutes: float) -> None:
        self.lab = lab
        self.seconds = minutes * MINUTE_S
        # Dev runs shorter than two minutes keep half of their time idle.
        self.idle_s = MINUTE_S if self.seconds >= 2 * MINUTE_S else self.seconds / 2
        self.figures: dict[str, Any] = {}
        self.pss: list[float] = []
        self.rows = census(lab)
        self.kinds = {int(r["pid"]): str(r["kind"]) for r in self.rows if r.get("pid")}
        self.devices = {r["name"]: r for r in self.rows if r["kind"] == "device"}
        web = next(r for r in self.rows if r["kind"] == "web")
        self.panel = watch.Panel(str(web["endpoints"]["url"]))

    def sample_memory(self) -> None:
        self.pss.append(watch.pss_mb(lab_processes(self.lab)))

    def measure(self) -> None:
        since = time.time()
        started = time.monotonic()
        self.sample_memory()  # minute 0: right after every process said it is ready
        pids = [int(r["pid"]) for r in self.devices.values()]
        before = watch.cpu_seconds(pids)
        self._wait(started, started + self.idle_s, load=False)
        cpu = watch.cpu_pct_per_process(before, watch.cpu_seconds(pids), self.idle_s)
        self.figures["idle_cpu_pct_per_device"] = round(cpu, 3)
        with child("bench/_servers.py", "echo-rep") as (_, ready):
            calls = self._start_calls(endpoint_of(ready), self.seconds - self.idle_s)
            try:
                self._wait(started, started + self.seconds, load=True)
                if len(self.pss) <= math.ceil(self.seconds / MINUTE_S):
                    self.sample_memory()  # the end of the last minute
                assert calls.stdout is not None
                out = calls.stdout.read()  # its one line, once its last call is done
            finally:
                if calls.poll() is None:
                    calls.kill()
                calls.wait()
        until = time.time()
        self._record_calls(json.loads(out))
        self.figures["pss_mb_by_kind"] = watch.pss_by_kind(lab_processes(self.lab), self.kinds)
        self._record_rows(since, until)

    def _start_calls(self, baseline: str, seconds: float) -> subprocess.Popen[str]:
        devices = {
            n: [self.lab.devices[n], r["endpoints"]["commands"]] for n, r in self.devices.items()
        }
        request = {"devices": devices, "baseline": baseline, "seconds": seconds}
        calls = subprocess.Popen(
            [sys.executable, str(HERE / "_scale_calls.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert calls.stdin is not None
        calls.stdin.write(json.dumps({**request, "rate": CALLS_PER_S}))
        calls.stdin.close()
        return calls

    def _wait(self, started: float, end: float, *, load: bool) -> None:
        """Until ``end``: PSS at each whole minute since ``started``, page loads if ``load``."""
        next_panel = time.monotonic()
        while (now := time.monotonic()) < end:
            next_minute = started + MINUTE_S * len(self.pss)
            if now >= next_minute:
                self.sample_memory()
                continue
            if load and now >= next_panel:
                self.panel.load()
                next_panel += PANEL_EVERY_S
                continue
            wake = min(end, next_minute, next_panel if load else end)
            time.sleep(max(0.0, wake - time.monotonic()))  # a schedule, not a ready signal

    def _record_calls(self, calls: dict[str, Any]) -> None:
        command, baseline = calls["command"], calls["baseline"]
        self.figures.update(
            command_p99_ms=command["p99_ms"],
            panel_p95_ms=self.panel.p95_ms(),
            baseline_raw_reqrep_p99_ms=baseline["p99_ms"],
            command_p50_ms=command["p50_ms"],
            baseline_raw_reqrep_p50_ms=baseline["p50_ms"],
            command_calls=command["calls"],
            command_errors=command["errors"],
            panel_loads=len(self.panel.samples),
            panel_failures=self.panel.failures,
            command_p99_ms_by_kind={k: v["p99_ms"] for k, v in calls["by_kind"].items()},
        )
        self.panel.close()

    def _record_rows(self, since: float, until: float) -> None:
        rows = watch.stored_rows(
            self.lab.storage_endpoint(), self.devices, since, until, HK_PERIOD_S
        )
        expected = round(len(self.devices) * (until - since) / HK_PERIOD_S)
        endpoints = {n: str(r["endpoints"]["commands"]) for n, r in self.devices.items()}
        lost = watch.sender_losses(endpoints)
        self.figures.update(rows_expected=expected, **rows, rows_lost_by_senders=lost)

    def memory(self) -> dict[str, Any]:
        return {
            "pss_mb_total": round(max(self.pss), 1),
            "pss_mb_minute2": round(self.pss[2], 1) if len(self.pss) > 2 else None,
            "pss_mb_last": round(self.pss[-1], 1),
            "pss_mb_minutes": [round(mb, 1) for mb in self.pss],
        }


def timed_up(lab: Lab) -> float:
    started = time.perf_counter()
    result = controlroom(lab, "up", "-d", "--setup", str(lab.setup), check=False)
    if result.returncode != 0:
        raise SystemExit(f"controlroom up failed: {result.stderr.strip()[-2000:]}")
    return time.perf_counter() - started


def measure(devices: int, minutes: float, scratch: Path) -> dict[str, Any]:
    lab = write_lab(scratch, devices)
    figures: dict[str, Any] = {"devices": devices, "minutes": minutes}
    try:
        figures["up_ready_s"] = round(timed_up(lab), 2)
        run = Run(lab, minutes)
        run.measure()
        figures.update(run.memory())
        figures.update(run.figures)
    finally:
        down_s, killed = stop_lab(lab)
    figures["down_s"] = None if down_s is None else round(down_s, 2)
    figures["killed_after_down"] = killed
    return figures


KEYS = (
    "devices",
    "minutes",
    "up_ready_s",
    "pss_mb_total",
    "pss_mb_minute2",
    "pss_mb_last",
    "idle_cpu_pct_per_device",
    "rows_expected",
    "rows_stored",
    "command_p99_ms",
    "panel_p95_ms",
    "down_s",
    "baseline_raw_reqrep_p99_ms",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=100, help="simulated devices")
    parser.add_argument("--minutes", type=float, default=10.0, help="of the run after ready")
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C: through the `finally` that stops the lab.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="controlroom-scale-") as scratch:
        figures = measure(args.devices, args.minutes, Path(scratch))
    ordered = {key: figures.get(key) for key in KEYS}
    print(json.dumps({**ordered, **figures}))


if __name__ == "__main__":
    main()
