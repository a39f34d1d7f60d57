"""Observations, building blocks and dry runs: how test scripts command the system.

* :func:`building_block` marks a test-script function that changes the
  system. Its arguments are keyword-only and given by name at every call;
  defaults come only from ``<module>.yaml`` next to the module (format in
  :mod:`controlroom.obs.defaults`). ``@building_block(nested=True)`` allows a
  block to be called from another block.
* Building blocks run inside an :func:`observation` (an obsid from the
  configuration manager) or through :func:`execute`, which opens and closes
  one around a single block.
* :func:`generate_command_sequence` dry-runs a block: device commands are
  checked against their validators and the given limits and recorded, not
  sent (see :mod:`controlroom.device.dryrun`).
* Every call is journaled in its observation and logged on
  ``controlroom.obs.journal`` (:mod:`controlroom.obs.block_journal`).
"""

from controlroom.device.dryrun import DryRunError, LimitExceeded, RecordedCommand
from controlroom.obs.block_journal import JournalEntry
from controlroom.obs.building_block import BuildingBlock, building_block, is_building_block
from controlroom.obs.errors import (
    CallError,
    DefinitionError,
    NestingError,
    NotInObservation,
    ObsError,
    ObservationError,
)
from controlroom.obs.observation import (
    Observation,
    current_observation,
    end_observation,
    observation,
    start_observation,
)
from controlroom.obs.sequence import execute, generate_command_sequence

__all__ = [
    "BuildingBlock",
    "CallError",
    "DefinitionError",
    "DryRunError",
    "JournalEntry",
    "LimitExceeded",
    "NestingError",
    "NotInObservation",
    "ObsError",
    "Observation",
    "ObservationError",
    "RecordedCommand",
    "building_block",
    "current_observation",
    "end_observation",
    "execute",
    "generate_command_sequence",
    "is_building_block",
    "observation",
    "start_observation",
]
