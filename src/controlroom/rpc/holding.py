"""Holding a lease while a block of work runs: taken on entry, renewed, released on exit.

``with proxy.holding(60): ...`` takes the lease of the proxy's server (or
raises the server's refusal, naming who holds it), renews it every
``renew_every`` seconds (a third of the lease by default) from a thread of
its own, and releases it when the block ends, also on an exception. The
renewals go through a second connection with the same key and user, so a
long command running in the block never delays them. If the process dies,
the renewals stop with it and the lease runs out at its ``until``.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from controlroom.rpc.errors import RpcError

if TYPE_CHECKING:
    from controlroom.rpc.proxy import Proxy

log = logging.getLogger(__name__)


class Holding:
    """A lease held for a ``with`` block; ``renewals`` counts the renewals that succeeded."""

    def __init__(
        self, owner: Proxy, renewer: Proxy, seconds: float, renew_every: float | None = None
    ) -> None:
        every = seconds / 3 if renew_every is None else renew_every
        if not 0 < every < seconds:
            raise ValueError(
                f"renew_every must be more than 0 and less than the lease ({seconds:g} s), "
                f"not {renew_every!r}"
            )
        self.owner = owner
        self.renewer = renewer
        self.seconds = seconds
        self.renew_every = every
        self.lease: dict[str, Any] | None = None  # the server's last answer
        self.renewals = 0
        self.error: Exception | None = None  # why the last renewal failed, if it did
        self.lost = False  # someone else took the server after the lease ran out
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._renew, name=f"lease of {owner.name}", daemon=True
        )

    @property
    def until(self) -> str | None:
        """When the lease ends if it is not renewed again (UTC, ISO)."""
        return None if self.lease is None else str(self.lease.get("until"))

    def __enter__(self) -> Holding:
        try:
            self.lease = self.owner.lease(self.seconds)
        except BaseException:
            self.renewer.close()
            raise
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.renewer.close()
        if self.lost:
            return
        try:
            self.owner.release()
        except RpcError:
            if exc is None:
                raise
            # The block's own error says more than a failed release after it.
            log.warning("%s: lease not released", self.owner.name, exc_info=True)

    def _renew(self) -> None:
        while not self._stop.wait(self.renew_every):
            try:
                self.lease = self.renewer.lease(self.seconds)
            except PermissionError as exc:  # it ran out and someone else took it
                self.error, self.lost = exc, True
                log.warning("%s: lease lost: %s", self.owner.name, exc)
                return
            except RpcError as exc:  # no answer this time: the lease may outlive it
                self.error = exc
                log.warning("%s: lease not renewed: %s", self.owner.name, exc)
            else:
                self.renewals += 1
