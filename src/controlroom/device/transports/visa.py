"""Text transport to a VISA resource (GPIB, USBTMC, VXI-11, HiSLIP, ...), on pyvisa.

pyvisa is imported when the first transport connects, not with this module:
it takes a fifth of a second to import, which every CLI call and control
server start would otherwise pay for a transport most installations never use.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from controlroom.device.errors import ArgumentError, DeviceTimeout, ReplyError, TransportError
from controlroom.device.transports.base import LockedTransport

if TYPE_CHECKING:
    from pyvisa import ResourceManager
    from pyvisa.resources import MessageBasedResource

_LOG = logging.getLogger(__name__)


class VisaTransport(LockedTransport):
    """One message-based VISA resource, e.g. ``TCPIP::192.168.1.5::INSTR``.

    ``backend`` picks the VISA library: ``"@py"`` (pyvisa-py, pure Python),
    ``"@ivi"`` (a vendor's VISA), or ``"<file.yaml>@sim"`` (pyvisa-sim).
    ``query`` is one atomic exchange across threads. After a timeout the
    device is sent a VISA clear, so a late reply cannot answer the next query.
    """

    def __init__(
        self,
        resource: str,
        *,
        backend: str = "@py",
        write_terminator: str = "\n",
        read_terminator: str = "\n",
        timeout: float = 2.0,
        encoding: str = "ascii",
    ) -> None:
        super().__init__()
        self.resource = resource
        self._backend = backend
        self._options: dict[str, Any] = {
            "write_termination": write_terminator,
            "read_termination": read_terminator,
            "timeout": timeout * 1000,  # VISA counts milliseconds
            "encoding": encoding,
        }
        self._manager: ResourceManager | None = None
        self._instrument: MessageBasedResource | None = None

    @property
    def is_connected(self) -> bool:
        return self._instrument is not None

    def _open_link(self) -> None:
        if self._instrument is not None:
            return
        import pyvisa
        from pyvisa.resources import MessageBasedResource

        try:
            self._manager = pyvisa.ResourceManager(self._backend)
            instrument = self._manager.open_resource(self.resource, **self._options)
        except (pyvisa.Error, OSError, ValueError) as exc:
            self._close_link()
            raise TransportError(f"cannot open {self.resource}: {exc}") from exc
        if not isinstance(instrument, MessageBasedResource):
            self._close_link()
            raise TransportError(f"{self.resource} is not a message-based resource")
        self._instrument = instrument
        _LOG.info("opened %s with backend %s", self.resource, self._backend)

    def _close_link(self) -> None:
        # Closing the manager closes every resource it opened.
        manager, self._manager, self._instrument = self._manager, None, None
        if manager is not None:
            with contextlib.suppress(Exception):
                manager.close()

    def _send(self, command: str) -> None:
        _LOG.debug("%s <- %r", self.resource, command)
        self._opened().write(command)

    def _receive(self) -> str:
        reply = self._opened().read()
        _LOG.debug("%s -> %r", self.resource, reply)
        return reply

    def _opened(self) -> MessageBasedResource:
        if self._instrument is None:
            raise TransportError(f"{self.resource} is not open")
        return self._instrument

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn pyvisa's exceptions into transport errors."""
        import pyvisa

        try:
            yield
        except TransportError:
            raise  # ours, and a ConnectionError: keep it from the OSError branch
        except UnicodeEncodeError as exc:
            raise ArgumentError(f"{action}: not encodable for {self.resource}") from exc
        except UnicodeDecodeError as exc:
            raise ReplyError(f"{action}: {self.resource} sent undecodable bytes") from exc
        except pyvisa.VisaIOError as exc:
            if exc.error_code == pyvisa.constants.StatusCode.error_timeout:
                self._clear_device()
                raise DeviceTimeout(f"{action} on {self.resource} timed out") from exc
            raise TransportError(f"{action} on {self.resource} failed: {exc}") from exc
        except (pyvisa.Error, OSError) as exc:
            raise TransportError(f"{action} on {self.resource} failed: {exc}") from exc

    def _clear_device(self) -> None:
        if self._instrument is None:
            return
        # Not every backend or interface supports a device clear; then there is no remedy.
        with contextlib.suppress(Exception):
            self._instrument.clear()
