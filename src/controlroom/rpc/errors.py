"""Errors of the rpc layer; remote failures are re-raised locally as RemoteError subclasses."""

from __future__ import annotations

import builtins
import threading
from typing import Any, ClassVar

from controlroom.wire import ErrorInfo


class RpcError(Exception):
    """Root of every error raised by ``controlroom.rpc``."""


class CallTimeout(RpcError, TimeoutError):
    """No reply arrived within the call's timeout (the server may be down or busy)."""


class ServerUnavailable(CallTimeout):
    """No connection to the server could be made within the call's timeout."""


class ProxyClosed(RpcError):
    """The proxy was closed; make a new one."""


class MessageTooLarge(RpcError, ValueError):
    """A request is larger than the server accepts; it was not sent."""


class InsecureServer(RpcError):
    """A socket would serve without CURVE where CURVE is required, or cannot be secured here."""


class UnknownCommand(RpcError, LookupError):
    """Raised on the server for a command it does not serve."""


class RemoteError(RpcError):
    """A command failed on the server; carries the remote type, message and traceback.

    ``RemoteError.for_info(info)`` returns an instance of a subclass named after
    the remote type (``RemoteValueError``), which for built-in exception types
    also derives from the built-in, so ``except ValueError`` still works.
    """

    remote_type: ClassVar[str] = "Exception"
    _classes: ClassVar[dict[str, type[RemoteError]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(str(info))
        self.info = info

    @property
    def remote_traceback(self) -> str:
        return self.info.traceback

    @property
    def origin(self) -> str:
        return self.info.origin

    def __str__(self) -> str:
        return str(self.info)

    @classmethod
    def for_info(cls, info: ErrorInfo) -> RemoteError:
        return cls.subclass_for(info.type)(info)

    @classmethod
    def subclass_for(cls, remote_type: str) -> type[RemoteError]:
        with cls._lock:
            found = cls._classes.get(remote_type)
            if found is None:
                found = cls._classes[remote_type] = _make_subclass(remote_type)
            return found


# Remote errors of controlroom's own that a caller may catch as a built-in.
_AS_BUILTIN: dict[str, type[Exception]] = {
    "Forbidden": PermissionError,
    "LeaseHeld": PermissionError,
}


def _make_subclass(remote_type: str) -> type[RemoteError]:
    builtin = _AS_BUILTIN.get(remote_type) or getattr(builtins, remote_type, None)
    bases: tuple[type, ...] = (RemoteError,)
    if (
        isinstance(builtin, type)
        and issubclass(builtin, Exception)
        and not issubclass(builtin, RpcError)
    ):
        bases = (RemoteError, builtin)
    safe = "".join(c for c in remote_type if c.isalnum() or c == "_") or "Error"
    namespace: dict[str, Any] = {"remote_type": remote_type, "__module__": __name__}
    try:
        return type(f"Remote{safe}", bases, namespace)
    except TypeError:  # a built-in with an incompatible layout: keep the plain subclass
        return type(f"Remote{safe}", (RemoteError,), namespace)
