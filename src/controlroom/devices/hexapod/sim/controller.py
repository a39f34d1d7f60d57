"""The simulated PUNA controller: its Q variables, its command register, its state (pure).

A host writes a code into ``Q20`` (:class:`~controlroom.devices.hexapod.codes.Code`);
the controller's PLC picks it up ``command_delay_s`` later, runs it with the
parameters then in ``Q70``-``Q91`` and writes the return code back into
``Q20``. Status variables (``Q26``-``Q58``) are computed from the model at the
moment they are read. Time is passed in (simulated seconds); call
:meth:`SimulatedController.update` before reading, as :meth:`read` does.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from controlroom.devices.hexapod import codes
from controlroom.devices.hexapod.codes import Code
from controlroom.devices.hexapod.pose import Matrix, Pose, inverse, matrix, pose_of
from controlroom.devices.hexapod.sim.commands import COMMANDS, RETRACTED
from controlroom.devices.hexapod.sim.geometry import Geometry
from controlroom.devices.hexapod.sim.platform import Platform
from controlroom.devices.hexapod.sim.workspace import Workspace

_LOG = logging.getLogger(__name__)

DEFAULT_SPEED = (1.0, 1.0)  # mm/s, deg/s
BOOT_S = 3.0
"""A reset controller answers at once but runs no command for this long (simulated s)."""


class SimulatedController:
    """The PUNA controller and its hexapod at simulated time ``now``."""

    def __init__(
        self, now: float = 0.0, *, geometry: Geometry | None = None, command_delay_s: float = 0.02
    ) -> None:
        self.geometry = geometry or Geometry()
        self.command_delay_s = command_delay_s
        self.platform = Platform(matrix(RETRACTED))
        self._power_up(now - BOOT_S)  # switched on long enough ago to answer at once
        self._pending: tuple[int, float] | None = None
        self._trip_fraction: float | None = None
        self._trip_at: float | None = None

    def _power_up(self, now: float) -> None:
        self.booted_at = now + BOOT_S
        self.command = codes.SUCCESS
        self.control_on = False
        self.homing = 0
        self.posref = 0
        self.kinematic = 0
        self.validation = 0
        self.error = 0
        self.faults: set[str] = set()
        self.stopping = False
        self.user_cs: Matrix = np.eye(4)
        self.object_cs: Matrix = np.eye(4)
        self.workspace: Workspace = Workspace()
        self.speed: tuple[float, float] = DEFAULT_SPEED
        self.memory: dict[int, float] = {}

    # -- what the host sees ---------------------------------------------------------------

    def read(self, number: int, now: float) -> float:
        """The value of ``Q<number>`` at ``now``."""
        self.update(now)
        if number == codes.Q_COMMAND:
            return float(self.command)
        scalars = {
            codes.Q_HOMING: self.homing,
            codes.Q_POSREF: self.posref,
            codes.Q_KINEMATIC: self.kinematic,
            codes.Q_VALIDATION: self.validation,
            codes.Q_STATE: self.state_word(now),
            codes.Q_ERROR: self.error,
        }
        if number in scalars:
            return float(scalars[number])
        for base, values in (
            (codes.Q_LENGTHS, self.geometry.lengths(self.platform.pose(now))),
            (codes.Q_MACHINE, pose_of(self.platform.pose(now))),
            (codes.Q_USER, self.user_pose(now)),
        ):
            if base <= number < base + 6:
                return float(values[number - base])
        return self.memory.get(number, 0.0)

    def write(self, number: int, value: float, now: float) -> None:
        """``Q<number>=value``; a positive code into ``Q20`` is a command for the PLC."""
        self.update(now)
        if number != codes.Q_COMMAND:
            self.memory[number] = value  # status variables are recomputed on every read
            return
        self.command = int(value)
        self._pending = (int(value), now + self.command_delay_s) if value > 0 else None

    def state_word(self, now: float) -> int:
        moving = self.platform.moving(now)
        flags = {
            "error": bool(self.faults) or self.error != 0,
            "initialized": now >= self.booted_at,
            "in_position": self.homed and not moving and self.posref == codes.Positioning.REACHED,
            "control_on": self.control_on,
            "homing_done": self.homed,
            "brake_on": not self.control_on,
            "homing_error": self.homing == codes.Homing.ERROR,
            **{name: True for name in self.faults},
        }
        return sum(1 << bit for bit, name in enumerate(codes.STATE_BITS) if flags.get(name))

    @property
    def homed(self) -> bool:
        return self.homing == codes.Homing.DONE

    def object_in_user(self, platform: Matrix) -> Matrix:
        return inverse(self.user_cs) @ platform @ self.object_cs

    def platform_for(self, object_in_user: Matrix) -> Matrix:
        return self.user_cs @ object_in_user @ inverse(self.object_cs)

    def user_pose(self, now: float) -> Pose:
        return pose_of(self.object_in_user(self.platform.pose(now)))

    # -- time ------------------------------------------------------------------------------

    def update(self, now: float) -> None:
        """Run a command whose time has come, fire an armed fault, finish motions."""
        if self._trip_at is not None and now >= self._trip_at:
            self._following_error(self._trip_at)
        if self._pending is not None and now >= self._pending[1]:
            code, due = self._pending
            self._pending = None
            self.command = self._run(code, due)
        if not self.platform.moving(now):
            # A stopped run ends short: the home is not found, the position not reached.
            arrived = not self.stopping
            if self.homing == codes.Homing.RUNNING:
                self.homing = codes.Homing.DONE if arrived else 0
                self.posref = codes.Positioning.REACHED if arrived else 0
            elif self.posref == codes.Positioning.MOVING:
                self.posref = codes.Positioning.REACHED if arrived else 0
            self.stopping = False

    def _run(self, code: int, now: float) -> int:
        if now < self.booted_at:
            return codes.IGNORED
        handler = COMMANDS.get(code)
        if handler is None:
            _LOG.info("unknown command code %d", code)
            return codes.IGNORED
        result = handler(self, now)
        _LOG.debug("Q20=%d (%s) -> %d", code, Code(code).name, result)
        return result

    # -- the platform ----------------------------------------------------------------------

    def start(self, stops: list[tuple[Matrix, float]], now: float, *, planned: bool) -> None:
        """Go through ``stops``; ``planned``: poses of the object in the user frame, else of
        the platform in the machine frame."""
        left, right = (self.user_cs, inverse(self.object_cs)) if planned else (np.eye(4),) * 2
        self.platform.go(stops, now, left=left, right=right)
        if self._trip_fraction is not None:
            duration = self.platform.finish_time(now) - now
            self._trip_at = now + self._trip_fraction * duration
            self._trip_fraction = None

    def arm_following_error(self, fraction: float = 0.5) -> None:
        """Make the next move (or homing run) trip after ``fraction`` of its duration."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"fraction must be in (0, 1), not {fraction}")
        self._trip_fraction = fraction

    def _following_error(self, when: float) -> None:
        self._trip_at = None
        self.platform.freeze(when)
        self.control_on = False
        self.faults.add("following_error")
        self.error = codes.Error.FOLLOWING_ERROR
        self.posref = codes.Positioning.ERROR
        if self.homing == codes.Homing.RUNNING:
            self.homing = codes.Homing.ERROR
        _LOG.warning("following error at t=%.2f s: control off", when)

    def reset(self, now: float) -> None:
        """``$$$``: the controller reboots; the motors stop dead and the home is lost."""
        self.platform.freeze(now)
        self._pending = self._trip_at = self._trip_fraction = None
        self._power_up(now)

    def set_workspace(self, **changes: object) -> None:
        self.workspace = replace(self.workspace, **changes)  # type: ignore[arg-type]
