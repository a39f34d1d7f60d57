"""The telemetry dictionary and the housekeeping pipeline of control servers (a library).

* :mod:`.dictionary` -- load and validate the dictionary CSV (columns in
  :mod:`.columns`, one line each in :mod:`.rows`); lookups by canonical name,
  by (origin, original name), names per origin;
* :mod:`.calibration` -- ``calibrated = a * raw + b`` (*Slope a*, *Offset b*);
* :mod:`.limits` -- operational and non-operational bands with hysteresis;
* :mod:`.synoptics` -- generic ``SYN_*`` parameters fed from a site's own;
* :mod:`.pipeline` -- :class:`TelemetryPipeline`, a control server's HK transform;
* :mod:`.attach` -- :func:`attach_telemetry` plugs a pipeline into a server.

The example dictionary for the shipped devices is ``data/telemetry.csv``
(:func:`shipped_dictionary`). Every error is a :class:`TelemetryError`.
"""

from __future__ import annotations

from controlroom.telemetry.attach import attach_telemetry
from controlroom.telemetry.calibration import Calibration
from controlroom.telemetry.dictionary import (
    TelemetryDictionary,
    load_dictionary,
    parse_dictionary,
    shipped_dictionary,
    shipped_dictionary_path,
)
from controlroom.telemetry.errors import (
    DictionaryError,
    Problem,
    TelemetryError,
    UnknownOrigin,
    UnknownParameter,
    UnknownSite,
)
from controlroom.telemetry.limits import LIMIT_FIELDS, Band, Hysteresis, Limits
from controlroom.telemetry.pipeline import (
    LIMIT_EVENT,
    LIMITS_KEY,
    SYNOPTICS_KEY,
    SplitSample,
    TelemetryPipeline,
    split_sample,
)
from controlroom.telemetry.rows import LIMITS_ORIGIN, SYNOPTICS_ORIGIN, Parameter

__all__ = [
    "LIMITS_KEY",
    "LIMITS_ORIGIN",
    "LIMIT_EVENT",
    "LIMIT_FIELDS",
    "SYNOPTICS_KEY",
    "SYNOPTICS_ORIGIN",
    "Band",
    "Calibration",
    "DictionaryError",
    "Hysteresis",
    "Limits",
    "Parameter",
    "Problem",
    "SplitSample",
    "TelemetryDictionary",
    "TelemetryError",
    "TelemetryPipeline",
    "UnknownOrigin",
    "UnknownParameter",
    "UnknownSite",
    "attach_telemetry",
    "load_dictionary",
    "parse_dictionary",
    "shipped_dictionary",
    "shipped_dictionary_path",
    "split_sample",
]
