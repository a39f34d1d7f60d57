"""Exceptions of the web panel.

``WebError`` is the one root. :class:`WebConfigError` stops the panel before
it serves (a bad ``web`` section, anonymous access on a non-loopback bind);
:class:`AccessDenied` is what a refused request or WebSocket command carries.
"""

from __future__ import annotations


class WebError(Exception):
    """Root of every error raised by ``controlroom.web``."""


class WebConfigError(WebError, ValueError):
    """The ``web`` Settings cannot be served as they are (the message says what to change)."""


class AccessDenied(WebError, PermissionError):
    """No valid session, a role too low, or a missing or wrong CSRF token."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status
