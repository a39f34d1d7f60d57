"""One run of the DPU processor: how it was announced, and how it ended."""

from __future__ import annotations

import signal
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProcessorRun:
    """One running processor, as its ready line announced it."""

    pid: int
    control: str
    publish: str
    started_s: float  # UTC


@dataclass(frozen=True)
class ProcessorExit:
    """How a run ended: ``code`` is the exit code, negative for a signal (-9: SIGKILL).

    ``failed_start`` is the reason a start failed (then there was no run);
    ``stderr`` the last lines the processor wrote to its log.
    """

    pid: int | None
    code: int | None
    at_s: float  # UTC
    ran_s: float
    requested: bool  # a restart someone asked for, not a crash
    failed_start: str = ""
    stderr: list[str] = field(default_factory=list)

    @property
    def how(self) -> str:
        if self.failed_start:
            return f"did not start: {self.failed_start}"
        if self.code is None:
            return "ended"
        if self.code < 0:
            try:
                return f"was killed by {signal.Signals(-self.code).name}"
            except ValueError:
                return f"was killed by signal {-self.code}"
        return f"exited with code {self.code}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "how": self.how}
