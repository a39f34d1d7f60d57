"""The housekeeping pipeline of one control server: names, calibration, limits, synoptics.

A :class:`TelemetryPipeline` is the server's ``hooks.hk_transform``: called with
``(server, time, values)`` on every HK sample, it returns the sample to store
and publish. It is pure (no I/O, no waiting) and fast: everything it needs is
looked up once, when it is built. For each value it

1. translates the device's original name to the canonical name (a name the
   dictionary does not know passes through unchanged; it is counted in
   :attr:`~TelemetryPipeline.unknown` and logged once);
2. calibrates it: ``a * raw + b`` (*Slope a*, *Offset b*; see :mod:`.calibration`);
3. checks it against its operational and non-operational bands with
   hysteresis (see :mod:`.limits`); each crossing is sent to ``notify("limit",
   crossing)``.

The returned sample holds the canonical values and, only when there are any,
two reserved entries a storage sink splits off with :func:`split_sample`:

* ``"_limits"``: the crossings of this sample, a list of records with the
  fields :data:`~.limits.LIMIT_FIELDS`, to be stored under the origin
  ``LIMITS``;
* ``"_synoptics"``: ``{SYN_name: value}`` fed by this sample, to be stored
  under the origin ``SYN``.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from controlroom.telemetry.calibration import Calibration
from controlroom.telemetry.dictionary import TelemetryDictionary
from controlroom.telemetry.limits import Hysteresis, LimitMonitor
from controlroom.telemetry.synoptics import Synoptics

log = logging.getLogger(__name__)

LIMITS_KEY = "_limits"
SYNOPTICS_KEY = "_synoptics"
LIMIT_EVENT = "limit"

Notify = Callable[[str, dict[str, Any]], None]


def _nowhere(event: str, data: dict[str, Any]) -> None:
    """Where limit events go when nobody asked for them."""


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    calibration: Calibration
    monitor: LimitMonitor | None


class TelemetryPipeline:
    """Turns the raw HK of ``origin`` into canonical, calibrated, limit-checked values."""

    def __init__(
        self,
        dictionary: TelemetryDictionary,
        origin: str,
        site: str,
        notify: Notify | None = None,
        *,
        hysteresis: Hysteresis | None = None,
    ) -> None:
        hysteresis = hysteresis or Hysteresis()
        self.origin, self.site = origin, site
        self.hysteresis = hysteresis
        self._notify = notify or _nowhere
        self._entries: dict[str, _Entry] = {}
        for p in dictionary.parameters(origin):  # raises UnknownOrigin
            monitor = None
            if p.limits.is_set:
                monitor = LimitMonitor(p.name, origin, p.unit, p.limits, hysteresis)
            self._entries[p.original] = _Entry(p.name, p.calibration, monitor)
        self._monitors = {e.name: e.monitor for e in self._entries.values() if e.monitor}
        self._synoptics = Synoptics(dictionary, site)  # raises UnknownSite
        self.unknown: collections.Counter[str] = collections.Counter()
        self.crossings = 0

    def __call__(self, server: str, time: float, values: dict[str, Any]) -> dict[str, Any]:
        """The hk_transform: the sample to store and publish (see the module doc)."""
        sample, crossings = self.translate(time, values, server)
        for crossing in crossings:
            self._send(server, crossing)
        synoptics = self._synoptics.derive(sample)
        if crossings:
            sample[LIMITS_KEY] = crossings
        if synoptics:
            sample[SYNOPTICS_KEY] = synoptics
        return sample

    def translate(
        self, time: float, values: Mapping[str, Any], server: str = ""
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Canonical, calibrated values and the limit crossings they cause."""
        sample: dict[str, Any] = {}
        crossings: list[dict[str, Any]] = []
        for key, raw in values.items():
            entry = self._entries.get(key)
            if entry is None:
                self._unknown(server, key)
                sample[key] = raw
                continue
            value = entry.calibration.apply(raw)
            sample[entry.name] = value
            if entry.monitor is not None:
                crossings += entry.monitor.check(value, time)
        return sample, crossings

    def synoptics(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The ``SYN_*`` values fed by ``values`` (canonical names) at this site."""
        return self._synoptics.derive(values)

    def states(self) -> dict[str, dict[str, Any]]:
        """Per limit-checked parameter: last value and the state of each band."""
        return {name: monitor.describe() for name, monitor in self._monitors.items()}

    def alarms(self) -> list[str]:
        """The parameters that are out of one of their bands now."""
        return [name for name, monitor in self._monitors.items() if monitor.in_alarm]

    def _unknown(self, server: str, key: str) -> None:
        if not self.unknown[key]:
            log.warning(
                "%s: HK name %r is not in the telemetry dictionary for %s; stored as it is",
                server or self.origin,
                key,
                self.origin,
            )
        self.unknown[key] += 1

    def _send(self, server: str, crossing: dict[str, Any]) -> None:
        self.crossings += 1
        log.info(
            "%s: %s %s, %s band (value %r %s)",
            server or self.origin,
            crossing["parameter"],
            crossing["state"],
            crossing["band"],
            crossing["value"],
            crossing["unit"],
        )
        try:
            self._notify(LIMIT_EVENT, dict(crossing))  # a copy: the sample keeps its own
        except Exception:  # a failing listener must not cost the sample its transform
            log.exception("%s: limit notification failed", server or self.origin)


class SplitSample(NamedTuple):
    """A transformed sample taken apart for storage, one part per origin."""

    values: dict[str, Any]  # under the server's own origin
    crossings: list[dict[str, Any]]  # under LIMITS
    synoptics: dict[str, Any]  # under SYN


def split_sample(values: Mapping[str, Any]) -> SplitSample:
    """Separate the reserved entries of a pipeline's output from the HK values."""
    plain = {k: v for k, v in values.items() if k not in (LIMITS_KEY, SYNOPTICS_KEY)}
    return SplitSample(plain, list(values.get(LIMITS_KEY, [])), dict(values.get(SYNOPTICS_KEY, {})))
