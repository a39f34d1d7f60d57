"""Whether a DPU is on the FEE's end of the link, and a fresh start after one left.

The FEE binds the link and the DPU connects to it. The FEE sends nothing on
a pulse with no DPU connected (a ZeroMQ send would wait for a peer), so it
looks before each pulse; the link was made with ``link_timeout_s=0``, which
makes :meth:`~controlroom.device.spacewire.SpaceWireOverZeroMQ.configure` a
look rather than a wait.

A DPU that restarts must get the stream again. A ZeroMQ PAIR socket whose
peer left while packets were still queued for it keeps the dead connection
and refuses every new peer (measured with libzmq 4.3: the next DPU connects,
and nothing ever reaches it). So once the DPU is seen gone, or a send could
not leave for the link's send timeout, the FEE closes its socket and binds
a new one on the same address. What was queued for the DPU that left is
lost, as on a cable pulled out. Closing a socket frees its address in the
background, a few milliseconds later: binding is retried for a while.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import zmq

from controlroom.device.spacewire import LinkDown, SpaceWireError, SpaceWireInterface

_LOG = logging.getLogger(__name__)

REBIND_S = 2.0  # longest wait for the address of the closed socket to be free again
REBIND_RETRY_S = 0.02


class DpuPresence:
    """Watches the DPU side of ``link`` (bound and connected by the caller)."""

    def __init__(
        self, link: SpaceWireInterface, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.link = link
        self.fresh_starts = 0  # times the link was bound afresh for the next DPU
        self._clock = clock
        self._seen = False  # a DPU was connected since the link was last bound

    def connected(self) -> bool:
        """Whether a DPU is on the link now; after one left, the link is bound afresh."""
        try:
            self.link.configure()
        except LinkDown:
            if self._seen:
                self.listen_afresh()
            return False
        self._seen = True
        return True

    def listen_afresh(self) -> None:
        """Close the link and bind it again on the same address, for the next DPU."""
        self._seen = False
        self.fresh_starts += 1
        _LOG.info("the DPU left %s (or stopped reading): listening afresh", self.link.name)
        self.link.disconnect()
        deadline = self._clock() + REBIND_S
        while True:
            try:
                self.link.connect()
                return
            except zmq.ZMQError as error:  # the address is not free yet
                if self._clock() > deadline:
                    raise SpaceWireError(
                        f"{self.link.name}: cannot listen again within {REBIND_S} s: {error}"
                    ) from error
                time.sleep(REBIND_RETRY_S)
