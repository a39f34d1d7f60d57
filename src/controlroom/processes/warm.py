"""Work the process factory does once, on import, so the processes it forks need not.

Importing this module loads the lab's Settings (the packaged file and the
local one the process manager runs with): the parsed documents stay in the
factory's memory (:func:`controlroom.config.settings._parse` keeps them), so
each forked process merges them without parsing YAML again, about 20 ms of
CPU each, two hundred times over in a lab of a hundred devices. Settings that
do not load are left for each process to report: nothing here may stop the
factory.
"""

from __future__ import annotations

import logging

from controlroom.config.errors import ConfigError
from controlroom.config.settings import load_settings

log = logging.getLogger(__name__)


def warm() -> bool:
    """Load the Settings once; whether they loaded."""
    try:
        load_settings()
    except (ConfigError, OSError, ValueError) as exc:  # ValueError: a file not UTF-8
        log.debug("settings not preloaded: %s", exc)
        return False
    return True


WARMED = warm()
