"""The DPU processor as the controller reaches it: started, supervised, and set up again.

:class:`ProcessorLink` owns the :class:`~.supervisor.ProcessorSupervisor` and
the one :class:`~..dpu.client.ProcessorClient` every command goes through.
When the supervisor has started a new processor it moves the client to the
new control endpoint (requests waiting at the old one fail with
``ProcessorRestarted``) and gives the new processor what the old one had
been told and a fresh one would not know: the obsid, and the cycle count
still running (as last seen), so a count in progress still ends in DUMP.
"""

from __future__ import annotations

import logging
from typing import Any

from controlroom.devices.camera.control.errors import DpuControlError, ProcessorDown
from controlroom.devices.camera.control.options import DpuOptions, processor_argv
from controlroom.devices.camera.control.runs import ProcessorRun
from controlroom.devices.camera.control.supervisor import ProcessorSupervisor
from controlroom.devices.camera.dpu.client import ProcessorClient
from controlroom.devices.camera.dpu.commands import DpuError

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 2.0  # the processor answers within milliseconds; this is for a dead one
PROCESSOR_LOG = "dpu-processor.log"  # in the camera root: what the processor wrote, per run


class ProcessorLink:
    """The supervised processor reading the FEE at ``url``, and the client to it."""

    def __init__(self, url: str, options: DpuOptions) -> None:
        self.url = url
        self.options = options
        self.obsid: str | None = None  # given again to a restarted processor
        self.num_cycles = 0  # the count last seen, for a restarted processor
        self._supervisor: ProcessorSupervisor | None = None
        self._client: ProcessorClient | None = None

    def open(self) -> ProcessorRun:
        """Start the processor and watch it; ProcessorStartError if it does not start."""
        self.options.root.mkdir(parents=True, exist_ok=True)
        self._supervisor = ProcessorSupervisor(
            processor_argv(self.url, self.options),
            on_ready=self._take_run,
            policy=self.options.restart,
            ready_timeout_s=self.options.ready_timeout_s,
            log_path=self.options.root / PROCESSOR_LOG,
        )
        return self._supervisor.start()

    def close(self) -> None:
        """Stop the processor (it drains its writer, closes its file), then the client."""
        if self._supervisor is not None:
            self._supervisor.stop()
        if self._client is not None:
            self._client.close()
            self._client = None

    def client(self) -> ProcessorClient:
        """The client of the running processor; ProcessorDown while there is none."""
        supervisor, client = self._supervisor, self._client
        if supervisor is None or client is None:
            raise ProcessorDown("the DPU controller is not connected")
        if supervisor.run is None:
            last = supervisor.last_exit
            why = f" (it {last.how})" if last is not None else ""
            raise ProcessorDown(f"the DPU processor is {supervisor.state}{why}; nothing was sent")
        return client

    def status(self) -> dict[str, Any] | None:
        """The processor's status; None while it is down or does not answer."""
        try:
            status = self.client().status()
        except (DpuError, DpuControlError) as error:
            log.debug("no DPU processor status: %s", error)
            return None
        if isinstance(status.get("num_cycles"), int):
            self.num_cycles = status["num_cycles"]
        return status

    def supervision(self) -> dict[str, Any]:
        """pid, up, state, restarts, last exit, endpoints (see ProcessorSupervisor.describe)."""
        return self._supervisor.describe() if self._supervisor is not None else {}

    def restart(self) -> dict[str, Any]:
        """Stop the processor for a new one (or start one after it was given up on); the
        supervision once the new one runs (or the ready timeout passed)."""
        if self._supervisor is None:
            raise ProcessorDown("the DPU controller is not connected")
        self._supervisor.restart()
        return self._supervisor.describe()

    def _take_run(self, run: ProcessorRun) -> None:
        """On the supervisor's thread, before the run counts as up."""
        if self._client is None:
            self._client = ProcessorClient(run.control, timeout_s=READ_TIMEOUT_S)
            return
        self._client.reconnect(run.control)
        try:
            if self.obsid is not None:
                self._client.assign("obsid", self.obsid)
            if self.num_cycles > 0:
                self._client.assign("num_cycles", self.num_cycles)
        except DpuError as error:  # it runs: a lost setting is reported, not fatal
            log.error("the restarted DPU processor did not take its settings: %s", error)
