"""Device commands as Prometheus metrics: counts by outcome and latency histograms.

``controlroom_commands_total{server, command, outcome}`` (outcome ``ok`` or
``error``) and ``controlroom_command_duration_seconds{server, command}``. The
series of every served command start at zero, so ``rate()`` and
``increase()`` see the first call and a dashboard lists commands never used.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram

from controlroom.rpc.hooks import CommandRecord

OUTCOMES = ("ok", "error")

# From a fast in-process query (~100 µs) to a slow move or ramp (a minute).
DURATION_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


class CommandMetrics:
    """A ``CommandObserver`` that counts and times every device command of one server."""

    def __init__(self, registry: CollectorRegistry, server: str, commands: Iterable[str]) -> None:
        self.calls = Counter(
            "controlroom_commands",
            "Device commands run, by outcome (ok or error).",
            ["server", "command", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "controlroom_command_duration_seconds",
            "Time a device command took on the server, failures included.",
            ["server", "command"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        # Each command's series, looked up once: ``labels()`` takes a lock and builds
        # a key, which cost more than the counting itself on every command.
        self._series: dict[tuple[str, str, bool], tuple[Counter, Histogram]] = {}
        for command in commands:
            for ok in (True, False):
                self._add(server, command, ok)

    def _add(self, server: str, command: str, ok: bool) -> tuple[Counter, Histogram]:
        outcome = OUTCOMES[0] if ok else OUTCOMES[1]
        series = (
            self.calls.labels(server, command, outcome),
            self.duration.labels(server, command),
        )
        self._series[server, command, ok] = series
        return series

    def __call__(self, record: CommandRecord) -> None:
        """Count and time one command; about a microsecond on the command loop."""
        ok = record.error is None
        series = self._series.get((record.server, record.command, ok))
        if series is None:  # a command not served when attached (a service command)
            series = self._add(record.server, record.command, ok)
        calls, duration = series
        calls.inc()
        duration.observe(record.duration_s)
