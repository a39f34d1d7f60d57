"""Synoptics: generic ``SYN_*`` parameters fed from a site's own parameters.

Every test facility measures the same things (the cold stage's temperature,
the source's intensity) with different devices. The dictionary's synoptic
rows (storage mnemonic ``SYN``) give each such quantity one generic name and,
per site (one ``Origin of synoptics at <SITE>`` column each), the canonical
name of the parameter that measures it there. Scripts and dashboards then use
``SYN_TEMP_CRYO`` at every site.

A synoptic takes the calibrated, limit-checked value of its source as it is;
synoptics are stored under their own origin ``SYN``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controlroom.telemetry.dictionary import TelemetryDictionary


class Synoptics:
    """The synoptics of one site: which canonical parameter feeds which ``SYN_*`` name."""

    def __init__(self, dictionary: TelemetryDictionary, site: str) -> None:
        self.site = site
        self.sources = dictionary.synoptics(site)  # SYN name -> source name
        self._fed_by: dict[str, list[str]] = {}  # source name -> SYN names (one may feed several)
        for synoptic, source in self.sources.items():
            self._fed_by.setdefault(source, []).append(synoptic)

    def __bool__(self) -> bool:
        return bool(self.sources)

    def derive(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The synoptic values found in ``values`` (a sample with canonical names)."""
        found: dict[str, Any] = {}
        for source, synoptics in self._fed_by.items():
            if source in values:
                for synoptic in synoptics:
                    found[synoptic] = values[source]
        return found
