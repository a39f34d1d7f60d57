"""Where in the camera's sync cycle a request of bench/dpu_priority.py fell, and the figures.

:func:`medians` folds the rounds of one speed into one set of figures: the
median over rounds of each p50, p99 and max (samples summed).

:class:`CycleWatch` follows the processor's publications on a thread of its
own: ``SYNC_TIMECODE`` starts a period (its readout), ``SYNC_ERROR_FLAGS``
is published right after the housekeeping was read back, when the readout
is over: from then on the period is in its ``window`` phase (frame handed to
storage, then the command window). A request is stamped with the phase it
started in and the time since the last timecode (``since_timecode_ms``).
Times are this process's monotonic clock at reception, so a phase starts a
little after the processor's.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from controlroom.devices.camera.dpu import DpuMonitoring, Topic

READOUT, WINDOW, UNSEEN = "readout", "window", "before_first_timecode"


@dataclass(frozen=True)
class Sample:
    kind: str  # proxy, processor, raw
    latency_s: float
    phase: str
    since_timecode_s: float


class CycleWatch:
    """The latest timecode and read-back seen on ``publish``; a context manager."""

    def __init__(self, publish: str) -> None:
        self._monitoring = DpuMonitoring(publish, [Topic.SYNC_TIMECODE, Topic.SYNC_ERROR_FLAGS])
        self._lock = threading.Lock()
        self._timecode_at: float | None = None
        self._read_back = False
        self.timecodes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="cycle-watch", daemon=True)

    def __enter__(self) -> CycleWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._monitoring.close()

    def phase(self, at: float) -> tuple[str, float]:
        """(phase, seconds since the last timecode) at monotonic time ``at``."""
        with self._lock:
            timecode_at, read_back = self._timecode_at, self._read_back
        if timecode_at is None:
            return UNSEEN, 0.0
        return (WINDOW if read_back else READOUT), max(0.0, at - timecode_at)

    def wait_for_timecodes(self, count: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        start = self.timecodes
        while self.timecodes - start < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.timecodes - start >= count

    def _follow(self) -> None:
        while not self._stop.is_set():
            found = self._monitoring.next(timeout_s=0.1)
            if found is None:
                continue
            now = time.monotonic()
            with self._lock:
                if found[0] is Topic.SYNC_TIMECODE:
                    self._timecode_at, self._read_back = now, False
                    self.timecodes += 1
                else:
                    self._read_back = True


def figures(latencies_s: Sequence[float]) -> dict[str, float | int]:
    """p50, p99 and max in ms, and the count."""
    ordered = sorted(latencies_s)
    if not ordered:
        return {"samples": 0}
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1e3, 3),
        "p99_ms": round(p99 * 1e3, 3),
        "max_ms": round(ordered[-1] * 1e3, 3),
        "samples": len(ordered),
    }


def by_phase(samples: Sequence[Sample]) -> dict[str, dict[str, dict[str, float | int]]]:
    """Figures per phase, per kind of request."""
    grouped: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for sample in samples:
        grouped[sample.phase][sample.kind].append(sample.latency_s)
    return {
        phase: {kind: figures(values) for kind, values in sorted(kinds.items())}
        for phase, kinds in sorted(grouped.items())
    }


def worst(samples: Sequence[Sample], kind: str, count: int = 5) -> list[dict[str, object]]:
    """The slowest requests of ``kind``, with where in the cycle they started."""
    slowest = sorted((s for s in samples if s.kind == kind), key=lambda s: -s.latency_s)
    return [
        {
            "ms": round(s.latency_s * 1e3, 2),
            "phase": s.phase,
            "since_timecode_ms": round(s.since_timecode_s * 1e3, 1),
        }
        for s in slowest[:count]
    ]


def medians(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The median over ``rounds`` of every figure, overall and by phase (samples: summed)."""
    first = rounds[0]
    folded: dict[str, Any] = {
        name: round(statistics.median(r[name] for r in rounds), 3)
        for name, value in first.items()
        if name.endswith("_ms") and isinstance(value, int | float)
    }
    phases: dict[str, dict[str, dict[str, float | int]]] = {}
    for phase in sorted({p for r in rounds for p in r["by_phase"]}):
        kinds = {k for r in rounds for k in r["by_phase"].get(phase, {})}
        phases[phase] = {kind: _fold(rounds, phase, kind) for kind in sorted(kinds)}
    return folded | {"by_phase": phases}


def _fold(rounds: Sequence[dict[str, Any]], phase: str, kind: str) -> dict[str, float | int]:
    seen = [r["by_phase"][phase][kind] for r in rounds if kind in r["by_phase"].get(phase, {})]
    seen = [s for s in seen if s.get("samples")]
    if not seen:
        return {"samples": 0}
    folded: dict[str, float | int] = {
        name: round(statistics.median(s[name] for s in seen), 3)
        for name in ("p50_ms", "p99_ms", "max_ms")
    }
    return folded | {"samples": sum(int(s["samples"]) for s in seen), "rounds": len(seen)}
